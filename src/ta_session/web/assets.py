"""Where the page's files are: our own (``static/``), and the third-party browser code that
``scripts/web_assets.sh`` fetched with npm (pinned in ``package.json`` and
``package-lock.json``) into ``node_modules/`` beside this file; wheels carry the few files used.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"

# served name → file under node_modules
VENDOR = {
    "xterm.js": "@xterm/xterm/lib/xterm.js",
    "xterm.css": "@xterm/xterm/css/xterm.css",
    "addon-fit.js": "@xterm/addon-fit/lib/addon-fit.js",
}


def vendor_path(name: str) -> Path | None:
    rel = VENDOR.get(name)
    return NODE_MODULES / rel if rel else None


def missing_vendor() -> list[str]:
    """Third-party files that are not installed (the page cannot work without them)."""
    return [rel for rel in VENDOR.values() if not (NODE_MODULES / rel).is_file()]
