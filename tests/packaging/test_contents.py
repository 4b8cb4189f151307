"""What the bundle keeps and leaves out, checked on made-up file lists (no build needed)."""

from __future__ import annotations

import pytest

from tests.packaging.conftest import load

contents = load("contents")


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so",
        "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/imageformats/libqgif.so",
        "PySide6/Qt/plugins/imageformats/libqwebp.so",
        "PySide6\\plugins\\platforms\\qwindows.dll",
        "PySide6\\plugins\\styles\\qmodernwindowsstyle.dll",
        "PySide6\\plugins\\imageformats\\qjpeg.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "PIL/_imaging.cpython-311-x86_64-linux-gnu.so",
    ],
)
def test_keeps_what_the_app_loads(dest: str) -> None:
    """Display, theme, input and image plugins each system needs stay, as does non-plugin code."""
    assert contents.plugin_kept(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platforms/libqminimal.so",
        "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/Qt/plugins/imageformats/libqtiff.so",
        "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        "PySide6/Qt/plugins/generic/libqevdevmouseplugin.so",
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6\\translations\\qtbase_fr.qm",
        "PySide6\\plugins\\platforms\\qdirect2d.dll",
    ],
)
def test_drops_what_the_app_never_loads(dest: str) -> None:
    """Embedded-Linux platforms, QML, PDF, SQL and TLS plugins and Qt's translations go."""
    assert not contents.plugin_kept(dest)


@pytest.mark.parametrize(
    ("name", "left_to_the_desktop"),
    [
        ("libgtk-3.so.0", True),
        ("libpango-1.0.so.0", True),
        ("libglib-2.0.so.0", True),
        ("libfontconfig.so.1", True),
        ("libxcb.so.1", True),
        ("libstdc++.so.6", True),
        ("libxcb-cursor.so.0", False),
        ("libxkbcommon.so.0", False),
        ("libQt6Core.so.6", False),
        ("libpython3.11.so.1.0", False),
        ("libz.so.1", False),
    ],
)
def test_desktop_libraries(name: str, left_to_the_desktop: bool) -> None:
    """The toolkit, font and display libraries come from the desktop; Qt's own needs stay."""
    assert contents.desktop_library(name, "linux") is left_to_the_desktop
    assert not contents.desktop_library(name, "win32")


LINKS = {
    "/venv/QtCore.abi3.so": {"libQt6Core.so.6"},
    "/venv/lib/libQt6Core.so.6": {"libz.so.1", "libglib-2.0.so.0"},
    "/venv/plugins/libqgtk3.so": {"libgtk-3.so.0", "libQt6Core.so.6"},
    "/venv/plugins/libqeglfs.so": {"libQt6EglFSDeviceIntegration.so.6"},
    "/venv/lib/libQt6EglFSDeviceIntegration.so.6": {"libQt6Core.so.6"},
    "/usr/lib/libgtk-3.so.0": {"libepoxy.so.0", "libz.so.1", "libX11.so.6"},
    "/usr/lib/libX11.so.6": {"libxcb.so.1"},
    "/usr/lib/libxcb.so.1": {"libXau.so.6"},
}
BINARIES = [
    ("PySide6/QtCore.abi3.so", "/venv/QtCore.abi3.so", "EXTENSION"),
    ("PySide6/Qt/lib/libQt6Core.so.6", "/venv/lib/libQt6Core.so.6", "BINARY"),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/venv/plugins/libqgtk3.so", "BINARY"),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", "/venv/plugins/libqeglfs.so", "BINARY"),
    (
        "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6",
        "/venv/lib/libQt6EglFSDeviceIntegration.so.6",
        "BINARY",
    ),
    ("libgtk-3.so.0", "/usr/lib/libgtk-3.so.0", "BINARY"),
    ("libglib-2.0.so.0", "/usr/lib/libglib-2.0.so.0", "BINARY"),
    ("libX11.so.6", "/usr/lib/libX11.so.6", "BINARY"),
    ("libepoxy.so.0", "/usr/lib/libepoxy.so.0", "BINARY"),
    ("libXau.so.6", "/usr/lib/libXau.so.6", "BINARY"),
    ("libz.so.1", "/usr/lib/libz.so.1", "BINARY"),
    ("libffi.so.8", "/usr/lib/libffi.so.8", "BINARY"),
]
DATAS = [
    ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
    (
        "libQt6EglFSDeviceIntegration.so.6",
        "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6",
        "SYMLINK",
    ),
    ("PySide6/Qt/translations/qtbase_de.qm", "/venv/translations/qtbase_de.qm", "DATA"),
    ("resources/chatdesk.desktop", "/src/resources/chatdesk.desktop", "DATA"),
]


def _prune(platform: str) -> tuple[set[str], set[str]]:
    binaries, datas = contents.prune(
        BINARIES,
        DATAS,
        imports=lambda path: LINKS.get(path, set()),
        resolve=lambda name: "/usr/lib/libxcb.so.1" if name == "libxcb.so.1" else None,
        platform=platform,
    )
    return {dest for dest, _src, _kind in binaries}, {dest for dest, _src, _kind in datas}


def test_prune_drops_what_only_dropped_files_needed() -> None:
    """GTK's own dependencies and a dropped plugin's library go; what kept code links stays."""
    binaries, datas = _prune("linux")
    assert binaries == {
        "PySide6/QtCore.abi3.so",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "libz.so.1",  # GTK linked it too, but so does Qt
        "libffi.so.8",  # nothing dropped linked it: it may be loaded by name
    }
    assert datas == {"libQt6Core.so.6", "resources/chatdesk.desktop"}


def test_prune_off_linux_touches_only_qt_libraries() -> None:
    """Elsewhere dropped plugins still take their Qt libraries along, and nothing else."""
    binaries, _datas = _prune("win32")
    assert "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6" not in binaries
    assert {"libgtk-3.so.0", "libepoxy.so.0", "libXau.so.6"} <= binaries
