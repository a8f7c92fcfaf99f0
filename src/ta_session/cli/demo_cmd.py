"""``ta demo``: the whole flow on a throwaway project with a scripted demonstration agent.

Interactive (a terminal): you watch the agent live, answer its question by typing, and see what
it changed. ``--non-interactive`` (or no terminal): the same flow unattended — the answer is sent
with ``HumanInput::Message`` as soon as the agent waits — then a summary is printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from ta_session.cli.output import CommandError
from ta_session.store import Project

if TYPE_CHECKING:
    from ta_session.service.lifecycle import SessionService

CALC_WITH_BUG = '''"""A tiny calculator."""


def add(a: int, b: int) -> int:
    return a - b


def sub(a: int, b: int) -> int:
    return a - b
'''

DEMO_AGENT_YAML = """\
# The scripted demonstration agent used by `ta demo` (not an AI).
name: demo
description: scripted demonstration agent (not an AI)
command: {python}
args_template: ["-m", "ta_session.demo.agent", "{pause}"]
interactive:
  enabled: true
  output_capture: pty
prompt_patterns: ['\\? .*\\[y/n\\]']
idle_after: 0.3
"""


def make_demo_project(root: Path, pause: float) -> Project:
    (root / ".ta" / "agents").mkdir(parents=True)
    (root / "calc.py").write_text(CALC_WITH_BUG)
    (root / "README.md").write_text("# Demo project\n\nA calculator with a bug in add().\n")
    agent_yaml = DEMO_AGENT_YAML.replace("{python}", sys.executable).replace("{pause}", str(pause))
    (root / ".ta" / "agents" / "demo.yaml").write_text(agent_yaml)
    return Project(root)


def cmd_demo(args: argparse.Namespace) -> int:
    from ta_session.cli.context import cli_channel_id
    from ta_session.service.lifecycle import SessionService
    from ta_session.service.starting import launch, start_session

    interactive = not args.non_interactive and sys.stdin.isatty() and sys.stdout.isatty()
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="ta-demo-"))
    if args.dir and root.exists() and any(root.iterdir()):
        raise CommandError(f"{root} is not empty; give an empty or new folder for the demo")
    root.mkdir(parents=True, exist_ok=True)
    project = make_demo_project(root, pause=0.4 if interactive else 0.05)
    print(f"Demo project: {root}")
    print("Agent: the scripted demonstration agent (it is not an AI).")
    service = SessionService(project, cli_channel_id())
    session = start_session(project, title="Fix the add() bug", objective="add() must add",
                            agent_id="demo", channel_id=service.channel_id,
                            sandbox_fallback=True)  # fmt: skip
    launch(project, session)

    if interactive:
        from ta_session.cli.live import attach_terminal

        print("The agent will ask you a question: type your answer and press Enter.")
        attach_terminal(service, session.session_id, None, launched=True)
    else:
        _answer_when_asked(service, session.session_id, "y")
        _approve_and_apply(service, session.session_id)
    return _summary(project, session.session_id)


def _approve_and_apply(service: SessionService, sid: UUID) -> None:
    """Play the reviewer: approve every artifact of the session's draft and apply it."""
    from ta_session.model.draft import Disposition
    from ta_session.service.drafts import DraftService

    drafts = DraftService(service.project, "demo:reviewer")
    session = service.load(sid)
    if not session.draft_ids:
        print("[demo] the agent changed nothing: no draft to review")
        return
    draft_id = session.draft_ids[-1]
    draft = drafts.decide(draft_id, Disposition.APPROVED)
    print(f"[demo] reviewed draft {draft.short_id}: approved {len(draft.artifacts)} artifact(s)")
    paths = drafts.apply(draft_id).paths
    print(f"[demo] applied to the project: {', '.join(paths)}")


def _answer_when_asked(
    service: SessionService, sid: UUID, answer: str, timeout: float = 60.0
) -> None:
    """Play the human: wait until the agent asks, then answer through the service."""
    from ta_session.service.lifecycle import SessionService

    human = SessionService(service.project, "demo:human")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and human.link.is_live(sid):
        if human.status(sid).activity == "waiting":
            human.answer(sid, answer)
            print(f"[demo] the agent asked a question; answered {answer!r}")
            break
        time.sleep(0.1)
    while human.link.is_live(sid):
        if time.monotonic() > deadline:
            raise CommandError("the demo agent did not finish in time")
        time.sleep(0.1)


def _summary(project: Project, sid: UUID) -> int:
    session = project.sessions.load(sid)
    print()
    print(f"Session {session.session_id}: {session.state.value}")
    print(f"Messages logged: {len(session.messages)}")
    for message in session.messages:
        print(f"  {message.sender}: {message.content}")
    for draft_id in session.draft_ids:
        draft = project.drafts.load(draft_id)
        print(f"Draft {draft.short_id} ({draft.status.value}): {draft.summary}")
        for artifact in draft.artifacts:
            print(f"  {artifact.describe()}  [{artifact.disposition.value}]")
    fixed = "return a + b" in (project.root / "calc.py").read_text()
    print(f"calc.py in the project: {'fixed' if fixed else 'unchanged'}")
    verify = project.audit.verify()
    print(f"Audit log: {verify.lines} events, chain {'intact' if verify.ok else 'BROKEN'}")
    print(f"Recording: {project.layout.recordings_dir / f'{session.session_id}.cast'}")
    print(f"Explore: ta --project {project.root} session show {session.short_id}")
    return 0 if session.state.value == "completed" and verify.ok else 1
