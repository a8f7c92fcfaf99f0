#!/usr/bin/env bash
# Fetch the page's third-party browser code (xterm.js), pinned in src/ta_session/web/package.json
# and package-lock.json, into src/ta_session/web/node_modules/ with npm (idempotent: nothing is
# fetched again while the lock file is unchanged). Installs Node.js from Debian's packages when
# npm is missing (as root). The fetched code is never committed; wheels include it.
set -euo pipefail
cd "$(dirname "$0")/../src/ta_session/web"

stamp=node_modules/.ta-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm is missing: install Node.js and npm (e.g. 'apt-get install nodejs npm')" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" > "$stamp"
