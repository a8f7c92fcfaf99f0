"""``ta doctor``: what this machine supports, checked for real (nothing is assumed)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from ta_session.store import Project


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def examine(project: Project) -> list[Finding]:
    """Python, the agent sandbox, and which agents' commands are installed."""
    from ta_session.store.agents import AgentCatalog
    from ta_session.workspace.sandbox import probe

    version = ".".join(map(str, sys.version_info[:3]))
    findings = [Finding("python", sys.version_info >= (3, 11), f"Python {version}")]
    support = probe()
    detail = support.detail
    if not support.available:
        detail += "; agents can run only unconfined (--no-sandbox)"
    findings.append(Finding("sandbox", support.available, detail))
    catalog = AgentCatalog(project.root)
    for config in catalog.list():
        if not config.command:
            continue
        command = config.resolved_command(os.environ)
        where = shutil.which(command)
        findings.append(
            Finding(f"agent {config.name}", where is not None,
                    where or f"{command} not found" + (f" ({config.install_hint})"
                                                        if config.install_hint else ""))
        )  # fmt: skip
    return findings
