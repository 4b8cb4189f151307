"""`python -m app` runs the same entry point as the `chatdesk` command."""

import sys

from app.main import main

sys.exit(main())
