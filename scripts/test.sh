#!/usr/bin/env bash
# Set up everything the test suite needs (idempotently) and run all of it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real: tmux (attached terminals), bubblewrap (the agent
# sandbox).
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
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
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
