"""What goes into the bundle and what stays out: Qt plugins, libraries, Python modules.

The bundle's size comes from here. `chatdesk.spec` applies these rules to PyInstaller's analysis;
packaging/smoke.py checks the built bundle against them. Standard library only (PyInstaller's
helpers are passed in), so the rules are unit-tested without building anything.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping

# PyInstaller's TOC entries: (name in the bundle, source path, kind).
Entry = tuple[str, str, str]

# Qt plugins kept, by type; a type not listed is dropped whole, None keeps the whole type.
# Names are the file's stem without "lib" and the leading "q": libqxcb.so -> xcb,
# qwindows.dll -> windows, libqcocoa.dylib -> cocoa.
KEEP_PLUGINS: Mapping[str, frozenset[str] | None] = {
    # X11, native Wayland (a single plugin since Qt 6.8, three before), the headless one the
    # smoke test uses, and the other two systems' own.
    "platforms": frozenset(
        {"xcb", "wayland", "wayland-egl", "wayland-generic", "offscreen", "windows", "cocoa"}
    ),
    # What a native Wayland window needs: the xdg-shell, its decorations, its buffers.
    "wayland-shell-integration": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "xcbglintegrations": None,
    # The desktop's file dialogs, fonts and colours (GTK, the XDG portal).
    "platformthemes": None,
    "styles": None,
    # Dead keys (compose) and input methods for CJK text (ibus); not the QML virtual keyboard.
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),
    # Thumbnails of attached images: PNG is built into QtGui; these add JPEG, GIF and WebP.
    # SVG and ICO cover the app's own and the icon theme's icons.
    "imageformats": frozenset({"jpeg", "gif", "webp", "svg", "ico"}),
    "iconengines": None,
}

# Libraries the desktop provides and the bundle must not override (Linux only). They are what a
# pip-installed PySide6 also takes from the system (the manylinux baseline plus
# scripts/packages-app.txt), and each must match the running desktop: GTK, its drawing libraries
# and GLib for the gtk3 theme plugin (which only makes sense with the desktop's own GTK; an older
# bundled copy would misread the desktop's newer themes), fontconfig and freetype for /etc/fonts,
# the X11 and D-Bus client libraries, Kerberos (QtNetwork links it; /etc/krb5.conf belongs to the
# system), and the C++ runtime the system's own GL drivers are built against.
# What only these needed goes with them. The small xcb-util libraries stay bundled: Qt needs
# libxcb-cursor and friends, and desktops often lack them.
LINUX_DESKTOP_LIBRARIES = re.compile(
    r"lib(gtk-3|gdk-3|gdk_pixbuf-2\.0|atk-1\.0|cairo|cairo-gobject|pango(|cairo|ft2)-1\.0"
    r"|harfbuzz|glib-2\.0|gobject-2\.0|gio-2\.0|gmodule-2\.0|gthread-2\.0"
    r"|X11|X11-xcb|xcb|Xext|Xrender|fontconfig|freetype|dbus-1|gssapi_krb5|stdc\+\+|gcc_s)"
    r"\.so[.0-9]*"
)

EXCLUDED_MODULES = [
    # The SDK imports its optional aiohttp transport when present, which slows its import.
    "aiohttp",
    # Stores API keys base64-encoded in a file: the app refuses it, so it must not ship.
    "keyrings.alt",
    # Never imported by the app; some are pulled in by optional imports of its libraries.
    "tkinter",
    "_tkinter",
    "turtle",
    "turtledemo",
    "idlelib",
    "lib2to3",
    "pydoc_data",
    "test",
    "tests",
    "distutils",
    "setuptools",
    "pkg_resources",
    "pip",
    "IPython",
    "numpy",
    "PIL.ImageQt",
    "PIL.ImageTk",
    "PIL.ImageShow",
    # AVIF (~5 MB of codecs): the app sends only PNG, JPEG, GIF and WebP.
    "PIL._avif",
    "PIL.AvifImagePlugin",
    # Development tools, when the build runs in the development environment: pydantic's mypy
    # plugin would bring mypy itself (~4 MB), and pygments is there only for pytest.
    "mypy",
    "pydantic.mypy",
    "pydantic.v1.mypy",
    "ast_serialize",
    "librt",
    "pygments",
    "pytest",
    "_pytest",
    "pytestqt",
    # PySide6 modules the app does not use; their hooks would bring QML and friends along.
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2",
    "PySide6.QtPdf",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPrintSupport",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtDesigner",
    "PySide6.QtUiTools",
    "PySide6.QtHelp",
    "PySide6.QtXml",
    # Qt itself still talks D-Bus (portals, input methods, the tray); Python never does.
    "PySide6.QtDBus",
]


def _parts(dest: str) -> list[str]:
    return re.split(r"[\\/]", dest)


def plugin_kept(dest: str) -> bool:
    """False for a Qt plugin or translation the app never loads; True for everything else.

    `dest` is the file's place in the bundle: PySide6/Qt/plugins/<type>/<file> (Linux, macOS)
    or PySide6/plugins/<type>/<file> (Windows), and the same for translations.
    """
    parts = _parts(dest)
    if "PySide6" not in parts:
        return True
    rest = parts[parts.index("PySide6") + 1 :]
    if rest[:1] == ["Qt"]:
        rest = rest[1:]
    if rest[:1] == ["translations"]:
        # English only: the app has no translations, and Qt's would translate only its dialogs.
        return False
    if len(rest) < 3 or rest[0] != "plugins":
        return True
    kept = KEEP_PLUGINS.get(rest[1], frozenset())
    if kept is None:
        return True
    stem = rest[-1].split(".")[0].removeprefix("lib").removeprefix("q")
    return stem in kept


def desktop_library(dest: str, platform: str = sys.platform) -> bool:
    """True for a library the Linux desktop must provide itself (see LINUX_DESKTOP_LIBRARIES)."""
    name = _parts(dest)[-1]
    return platform.startswith("linux") and bool(LINUX_DESKTOP_LIBRARIES.fullmatch(name))


def elf_needed(path: str) -> set[str]:
    """The libraries an ELF file links to itself (DT_NEEDED), not those they link to in turn."""
    dynamic = subprocess.run(
        ["readelf", "--dynamic", "--wide", path], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))


def prune(
    binaries: list[Entry],
    datas: list[Entry],
    *,
    imports: Callable[[str], Iterable[str]],
    resolve: Callable[[str], str | None],
    platform: str = sys.platform,
) -> tuple[list[Entry], list[Entry]]:
    """Drop unused plugins, translations and desktop libraries, then libraries only they needed.

    `imports(path)` names the libraries a file links to directly; `resolve(name)` finds a library
    that is not bundled on the build machine. A library stays if anything kept links to it;
    libraries nothing dropped linked to always stay (some are loaded by name at run time, which
    no link table shows). Off Linux only Qt's own libraries are pruned: the other systems'
    bundles are built and checked on those systems.
    """

    def name(entry: Entry) -> str:
        return _parts(entry[0])[-1]

    def is_dropped(entry: Entry) -> bool:
        return not plugin_kept(entry[0]) or desktop_library(entry[0], platform)

    dropped = [entry for entry in binaries if is_dropped(entry)]
    kept = [entry for entry in binaries if not is_dropped(entry)]

    def files(toc: list[Entry]) -> dict[str, str]:
        return {name(entry): entry[1] for entry in toc if entry[2] != "SYMLINK"}

    def linked(names: Iterable[str], files: dict[str, str], through_system: bool) -> set[str]:
        """Libraries among `files` that `names` link to, directly or through each other.

        `through_system` also follows links through libraries that are not bundled
        (PyInstaller never bundles libxcb.so.1, yet bundles libXau, which only libxcb needs).
        """
        found: set[str] = set()
        visited: set[str] = set()
        todo = list(names)
        while todo:
            current = todo.pop()
            if current in visited:
                continue
            visited.add(current)
            path = files.get(current)
            if path is None and through_system:
                path = resolve(current)
            if path is None:
                continue
            for needed in imports(path):
                if needed in files:
                    found.add(needed)
                if needed in files or through_system:
                    todo.append(needed)
        return found

    orphans = linked((name(e) for e in dropped), files(binaries), through_system=True)
    if not platform.startswith("linux"):
        orphans = {library for library in orphans if "Qt" in library}
    roots = {name(entry) for entry in kept} - orphans
    # Walk from what stays, never through what goes: a dropped library's own dependencies must
    # not be kept alive by it.
    orphans -= linked(roots, files(kept), through_system=False)
    gone = {name(entry) for entry in dropped} | orphans
    binaries = [entry for entry in kept if name(entry) not in orphans]
    # PyInstaller lists the links it makes to bundled libraries (libQt6Core.so.6 ->
    # PySide6/Qt/lib/libQt6Core.so.6) among the data files.
    datas = [
        entry
        for entry in datas
        if plugin_kept(entry[0]) and not (entry[2] == "SYMLINK" and name(entry) in gone)
    ]
    return binaries, datas
