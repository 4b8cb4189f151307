"""Entry script of the bundled app: the same `main()` as the `chatdesk` command."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
