#!/usr/bin/env bash
# Put Chatdesk in the current user's application menu: the .desktop entry and the icons, pointing
# at a bundle folder (dist/chatdesk, or where its tarball was unpacked). No root needed: it writes
# only under $XDG_DATA_HOME (default ~/.local/share), and links the `chatdesk` command into
# ~/.local/bin when that name is free.
#
#   install-desktop-entry.sh [BUNDLE_DIR]    BUNDLE_DIR defaults to the folder this script is in
#                                            when that is a bundle, else the repository's dist/chatdesk
#   install-desktop-entry.sh --uninstall     remove what an install put there
#
# Move the bundle later? Run it again from the new place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
bin_home="${XDG_BIN_HOME:-$HOME/.local/bin}"
applications="$data_home/applications"
hicolor="$data_home/icons/hicolor"
sizes=(16 24 32 48 64 128 256 512)

say() { printf '%s\n' "$*"; }
die() { printf 'install-desktop-entry: %s\n' "$*" >&2; exit 1; }

refresh_caches() {
  # Menus and icon themes pick the new files up by themselves on most desktops; these make it
  # immediate where the tools exist.
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [[ -f "$hicolor/index.theme" ]]; then
    gtk-update-icon-cache -q -t "$hicolor" 2>/dev/null || true
  fi
}

# A link in bin_home that points at some bundle's `chatdesk` is ours to replace or remove.
our_link() {
  [[ -L "$bin_home/chatdesk" ]] || return 1
  local target
  target="$(readlink "$bin_home/chatdesk")"
  [[ "$target" == */chatdesk && -d "$(dirname "$target")/_internal" ]]
}

uninstall() {
  rm -f "$applications/chatdesk.desktop"
  rm -f "$hicolor/scalable/apps/chatdesk.svg"
  for size in "${sizes[@]}"; do
    rm -f "$hicolor/${size}x${size}/apps/chatdesk.png"
  done
  if our_link; then rm -f "$bin_home/chatdesk"; fi
  refresh_caches
  say "Removed Chatdesk's menu entry and icons from $data_home."
}

# The Exec key's quoting rules (Desktop Entry Specification, "The Exec key"): the path goes in
# double quotes with " ` $ \ escaped by a backslash, then every backslash is doubled once more
# because the key's value is itself an escaped string; a literal % is written %%.
exec_quote() {
  local s="$1"
  s="${s//\\/\\\\\\\\}"
  s="${s//\"/\\\\\"}"
  s="${s//\`/\\\\\`}"
  s="${s//\$/\\\\\$}"
  s="${s//%/%%}"
  printf '"%s"' "$s"
}

if [[ "${1:-}" == "--uninstall" ]]; then
  uninstall
  exit 0
fi
if [[ "${1:-}" == -* ]]; then
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit 2
fi

if [[ $# -ge 1 ]]; then
  bundle="$1"
elif [[ -x "$here/chatdesk" && -d "$here/_internal" ]]; then
  bundle="$here"
else
  bundle="$here/../../dist/chatdesk"
fi
[[ -d "$bundle" ]] || die "no bundle at $bundle: build one with packaging/build.py, or name its folder"
bundle="$(cd "$bundle" && pwd -P)"
executable="$bundle/chatdesk"
resources="$bundle/_internal/resources"
[[ -x "$executable" ]] || die "$executable is missing or not executable"
[[ -f "$resources/chatdesk.desktop" ]] || die "$resources/chatdesk.desktop is missing: is $bundle a Chatdesk bundle?"

mkdir -p "$applications" "$hicolor/scalable/apps"
for size in "${sizes[@]}"; do
  mkdir -p "$hicolor/${size}x${size}/apps"
  cp "$resources/icons/chatdesk-$size.png" "$hicolor/${size}x${size}/apps/chatdesk.png"
done
cp "$resources/icons/chatdesk.svg" "$hicolor/scalable/apps/chatdesk.svg"

quoted="$(exec_quote "$executable")"
entry="$(mktemp "$applications/.chatdesk.desktop.XXXXXX")"
trap 'rm -f "$entry"' EXIT
while IFS= read -r line || [[ -n "$line" ]]; do
  case "$line" in
    "Exec=chatdesk"*) line="Exec=$quoted${line#Exec=chatdesk}" ;;
    "TryExec=chatdesk") line="TryExec=${executable//\\/\\\\}" ;;
  esac
  printf '%s\n' "$line"
done < "$resources/chatdesk.desktop" > "$entry"
chmod 644 "$entry"
mv -f "$entry" "$applications/chatdesk.desktop"
trap - EXIT

linked=""
if [[ ! -e "$bin_home/chatdesk" && ! -L "$bin_home/chatdesk" ]] || our_link; then
  mkdir -p "$bin_home"
  ln -sfn "$executable" "$bin_home/chatdesk"
  linked="$bin_home/chatdesk"
fi

refresh_caches
say "Installed Chatdesk in the application menu ($applications/chatdesk.desktop)."
say "It starts $executable."
if [[ -n "$linked" ]]; then
  say "The command line: $linked"
  case ":$PATH:" in
    *":$bin_home:"*) ;;
    *) say "($bin_home is not on your PATH; add it to run \`chatdesk\` by name.)" ;;
  esac
else
  say "$bin_home/chatdesk already exists and is not a link to a Chatdesk bundle: left alone."
fi
