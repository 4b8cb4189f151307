# Shared setup for scripts/run and scripts/test: system packages and the virtual environment.
# Sourced, not executed. Idempotent: a second run with nothing changed does almost nothing.

CHATDESK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$CHATDESK_ROOT/.venv"

log() { printf '[chatdesk] %s\n' "$*" >&2; }

# Install the Debian packages named in the given list file that are not installed yet.
ensure_system_packages() {
  local list_file="$1" missing=() pkg
  command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian-based system: install the packages in $list_file yourself"; return 0; }
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < "$list_file"
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing system packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Create .venv with the locked dependencies (app, or app + dev tools) and Chatdesk itself.
ensure_venv() {
  local lock="$CHATDESK_ROOT/requirements/$1.lock" stamp="$VENV/.chatdesk-$1.sha256"
  local python="${CHATDESK_PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { log "Chatdesk needs Python 3.11 or newer ($python is $("$python" --version 2>&1))"; return 1; }
  [[ -x "$VENV/bin/python" ]] || { log "creating $VENV"; "$python" -m venv "$VENV"; }
  local want
  want="$(cat "$lock" "$CHATDESK_ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing Python dependencies from requirements/$1.lock"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$lock"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e "$CHATDESK_ROOT"
    echo "$want" > "$stamp"
  fi
}
