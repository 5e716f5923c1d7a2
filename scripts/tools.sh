# Sourced by the other scripts: installs the Python-packaged tools listed in
# scripts/requirements-dev.txt into a virtualenv of their own (keyed by that
# file's content, outside the clone so every clone reuses it) and puts it
# first on PATH, so nothing depends on pyenv shims or a system pip.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements="$repo_root/scripts/requirements-dev.txt"
tools_key=$(sha256sum "$requirements" | cut -c1-12)
tools_venv="${EMAIL_PROVISIONING_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/email-provisioning/tools-$tools_key}"

if [ ! -f "$tools_venv/.installed" ]; then
  echo "Installing the development tools into $tools_venv (once, about a minute)..." >&2
  rm -rf "$tools_venv"
  # Tool sets of older requirement files are of no further use. On a fresh
  # machine the cache folder (even ~/.cache) does not exist yet.
  mkdir -p "$(dirname "$tools_venv")"
  case "$tools_venv" in
    */email-provisioning/tools-*) find "$(dirname "$tools_venv")" -maxdepth 1 -name 'tools-*' -exec rm -rf {} + ;;
  esac
  python3 -m venv "$tools_venv"
  "$tools_venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$tools_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  touch "$tools_venv/.installed"
fi
export PATH="$tools_venv/bin:$PATH"

# A loopback port nobody listens on now, for a server this run starts.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 ||
    echo "warning: could not add the rustfmt/clippy components with rustup" >&2
fi
