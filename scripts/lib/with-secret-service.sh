#!/usr/bin/env bash
# Inside a D-Bus session: start gnome-keyring's Secret Service unlocked, then run the command.
# Without --unlock every keyring call fails with "Prompt dismissed".
set -euo pipefail
mkdir -p "${XDG_DATA_HOME:?}/keyrings"
printf 'chatdesk-tests' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$@"
