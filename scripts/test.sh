#!/usr/bin/env bash
# Set up everything the test suite needs (idempotently) and run all of it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real: tmux (attached terminals), bubblewrap (the agent
# sandbox), Debian's chromium (the web page, driven by Playwright: no browser is ever downloaded
# by Playwright itself), vim (a full-screen agent), Node.js/npm (fetches the page's pinned
# browser code).
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v vim >/dev/null 2>&1 || command -v vi >/dev/null 2>&1 || need+=(vim-tiny)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them, or run this as root)" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
bash scripts/web_assets.sh
bash scripts/claude_code.sh
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
