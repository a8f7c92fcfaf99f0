#!/usr/bin/env bash
# Install the real Claude Code CLI (@anthropic-ai/claude-code, from npm) into a project-local
# folder, tests/.claude-code/, for tests/test_mcp_claude.py (idempotent; never committed).
# Without npm or the network the folder stays empty and that test skips, saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
dest=tests/.claude-code
version=${TA_CLAUDE_CODE_VERSION:-2.1.332}
if [ -x "$dest/node_modules/.bin/claude" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "npm missing: Claude Code test will skip" >&2; exit 0; }
mkdir -p "$dest"
if timeout 600 npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$version" >/dev/null; then
  echo "$version" > "$dest/.version"
else
  echo "npm could not install @anthropic-ai/claude-code: its test will skip" >&2
fi
exit 0
