"""Runtime hook: where the bundled Qt finds its plugins, without importing Qt.

It replaces PyInstaller's own PySide6 hook, which imports PySide6.QtCore when the bundle starts.
That costs every `chatdesk ask` and `chatdesk key` time for nothing, and it installs PySide6's
`__feature__` import hook before the OpenAI SDK is imported, which in a frozen app makes the SDK's
import fail (pydantic's lazy attributes, looked up by that hook, import pydantic from inside
itself). Here, as in a source tree, only the window imports Qt.

On Linux Qt finds its plugins next to its own libraries, and no QT_PLUGIN_PATH is set: it would
be inherited by programs the app starts (a browser opening a link) and point their Qt at ours.
"""

import os
import sys


def _set_qt_plugin_path() -> None:
    base = getattr(sys, "_MEIPASS", None)
    if base is None or sys.platform.startswith("linux"):
        return
    qt_dir = os.path.join(base, "PySide6")
    if sys.platform != "win32":
        qt_dir = os.path.join(qt_dir, "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt_dir, "plugins")


_set_qt_plugin_path()
del _set_qt_plugin_path
