"""What every command needs: the project, who is acting from which channel, and the service
that acts for them."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING
from uuid import UUID

from ta_session.cli.output import CommandError, warn
from ta_session.store import (
    AmbiguousIdError,
    BadFile,
    NotFoundError,
    Project,
    find_project_root,
)

if TYPE_CHECKING:
    from ta_session.service.drafts import DraftService
    from ta_session.service.lifecycle import SessionService


def open_project(args: argparse.Namespace) -> Project:
    root = find_project_root(override=getattr(args, "project", None))
    if not root.is_dir():
        raise CommandError(
            f"project folder {root} does not exist (check --project / TA_PROJECT_ROOT)"
        )
    return Project(root)


def cli_channel_id() -> str:
    """``cli:<tty>`` when run from a terminal, else ``cli:<pid>`` (SPEC §1); ``agent:<id>`` when
    run by a session's agent (its host sets ``TA_SESSION_ID``): agents never decide on drafts."""
    inside = os.environ.get("TA_SESSION_ID", "").strip()
    if inside:
        return f"agent:{inside[:36]}"
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                name = os.ttyname(fd)
                return "cli:" + name.removeprefix("/dev/")
        except OSError:
            continue
    return f"cli:{os.getpid()}"


def session_service(args: argparse.Namespace) -> SessionService:
    from ta_session.service.lifecycle import SessionService

    return SessionService(open_project(args), cli_channel_id())


def draft_service(args: argparse.Namespace) -> DraftService:
    from ta_session.service.drafts import DraftService

    return DraftService(open_project(args), cli_channel_id())


def resolve_session(project: Project, text: str) -> UUID:
    try:
        return project.sessions.resolve(text)
    except (NotFoundError, AmbiguousIdError) as exc:
        raise CommandError(str(exc)) from None


def resolve_goal(project: Project, text: str) -> UUID:
    try:
        return project.goals.resolve(text)
    except (NotFoundError, AmbiguousIdError) as exc:
        raise CommandError(str(exc)) from None


def report_bad_files(bad_files: list[BadFile]) -> None:
    for bad in bad_files:
        warn(f"skipping {bad.path}: {bad.reason}")
