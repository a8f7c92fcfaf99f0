"""``ta draft build|list|view|approve|reject|discuss|apply``."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from ta_session.cli.context import cli_channel_id, open_project, report_bad_files, resolve_goal
from ta_session.cli.live import ask_host
from ta_session.cli.output import CommandError, one_line, print_json, style, table, use_colour
from ta_session.model import Approve, BuildDraft, Discuss, Reject, SessionChannelError
from ta_session.model.draft import Disposition, Draft
from ta_session.store import AmbiguousIdError, NotFoundError, Project


def resolve_draft(project: Project, text: str) -> UUID:
    try:
        return project.drafts.resolve(text)
    except (NotFoundError, AmbiguousIdError) as exc:
        raise CommandError(str(exc)) from None


def _latest_session_of_goal(project: Project, goal_id: UUID) -> UUID | None:
    for summary in project.sessions.summaries():  # newest first
        if summary.goal_id == goal_id:
            return summary.session_id
    return None


def cmd_build(args: argparse.Namespace) -> int:
    from ta_session.workspace.drafts import WorkspaceMissing
    from ta_session.workspace.review import build_draft

    project = open_project(args)
    if args.goal:
        goal_id = resolve_goal(project, args.goal)
    else:
        goals = project.goals.list()
        if not goals:
            raise CommandError("no goals yet: start one with 'ta run'")
        goal_id = goals[0].goal_id
    session_id = _latest_session_of_goal(project, goal_id)
    if session_id is not None:
        reply = ask_host(project, session_id, BuildDraft())
        if reply is not None:
            detail = reply.get("detail")
            if detail == "no changes":
                print("No changes in the workspace: no draft was built.")
                return 0
            return _print_built(project.drafts.load(UUID(str(detail))))
    try:
        draft = build_draft(project, goal_id, session_id=session_id, channel_id=cli_channel_id())
    except WorkspaceMissing as exc:
        raise CommandError(f"{exc}; the goal's changes cannot be drafted") from None
    if draft is None:
        print("No changes in the workspace: no draft was built.")
        return 0
    return _print_built(draft)


def _print_built(draft: Draft) -> int:
    print(f"Draft {draft.draft_id} built: {draft.summary}.")
    for artifact in draft.artifacts:
        print(f"  {artifact.describe()}")
    print(f"Review it with 'ta draft view {draft.short_id}'.")
    return 0


def _draft_row(draft: Draft) -> list[str]:
    return [
        str(draft.draft_id),
        str(draft.goal_id)[:8],
        draft.status.value,
        str(len(draft.artifacts)),
        one_line(draft.summary, 40),
        draft.created_at.isoformat()[:19].replace("T", " "),
    ]


def cmd_list(args: argparse.Namespace) -> int:
    project = open_project(args)
    goal_id = resolve_goal(project, args.goal) if args.goal else None
    drafts = project.drafts.list(goal_id)
    report_bad_files(project.drafts.bad_files)
    if args.json:
        print_json([_brief(d) for d in drafts])
        return 0
    if not drafts:
        print("No drafts found.")
        return 0
    print(table(["DRAFT", "GOAL", "STATUS", "FILES", "SUMMARY", "CREATED"],
                [_draft_row(d) for d in drafts]))  # fmt: skip
    print(f"{len(drafts)} draft(s).")
    return 0


def _brief(draft: Draft) -> dict[str, Any]:
    data = draft.to_dict()
    data["artifacts"] = [{k: v for k, v in a.items() if k != "diff"} for a in data["artifacts"]]
    return data


def colour_diff(diff: str, colour: bool) -> str:
    if not colour:
        return diff
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(style(line.rstrip("\n"), "1", True) + "\n")
        elif line.startswith("+"):
            out.append(style(line.rstrip("\n"), "32", True) + "\n")
        elif line.startswith("-"):
            out.append(style(line.rstrip("\n"), "31", True) + "\n")
        elif line.startswith("@@"):
            out.append(style(line.rstrip("\n"), "36", True) + "\n")
        else:
            out.append(line)
    return "".join(out)


def render_artifact(artifact: Any, colour: bool) -> str:
    lines = [style(artifact.describe(), "1", colour)]
    lines.append(f"  disposition: {artifact.disposition.value}"
                 + (f" — {artifact.reason}" if artifact.reason else "")
                 + (f" — {artifact.comment}" if artifact.comment else ""))  # fmt: skip
    if artifact.diff:
        lines.append(colour_diff(artifact.diff, colour).rstrip("\n"))
    elif artifact.binary:
        lines.append(
            f"  binary file: {artifact.base_size or 0} → {artifact.new_size or 0} bytes, "
            f"{artifact.base_hash or '-'} → {artifact.new_hash or '-'}"
        )
    elif artifact.kind == "symlink":
        lines.append(f"  symlink → {artifact.link_target}")
    elif artifact.change_type.value == "modify" and artifact.base_hash == artifact.new_hash:
        lines.append("  permissions changed only")
    else:
        lines.append(f"  (no diff: {artifact.base_hash or '-'} → {artifact.new_hash or '-'})")
    return "\n".join(lines)


def cmd_view(args: argparse.Namespace) -> int:
    project = open_project(args)
    draft = project.drafts.load(resolve_draft(project, args.draft))
    if args.json:
        print_json(draft.to_dict())
        return 0
    colour = use_colour()
    print(f"Draft:    {draft.draft_id}")
    print(f"Goal:     {draft.goal_id}")
    print(f"Session:  {draft.session_id or '-'}")
    print(f"Status:   {draft.status.value}")
    print(f"Summary:  {draft.summary}")
    print(f"Created:  {draft.created_at.isoformat()}")
    for artifact in draft.artifacts:
        print()
        print(render_artifact(artifact, colour))
    return 0


def record_decision(
    project: Project,
    draft: Draft,
    disposition: Disposition,
    uris: list[str],
    text: str | None,
) -> Draft:
    """Through the live host when the draft's session has one; else directly."""
    from ta_session.workspace.review import decide

    for uri in uris:  # check before asking anyone, so a typo changes nothing
        try:
            draft.artifact(uri)
        except Exception as exc:
            raise CommandError(str(exc)) from None
    uris = [draft.artifact(u).resource_uri for u in uris]
    if draft.session_id is not None:
        requests: list[Any] = []
        targets: list[str | None] = list(uris) or [None]
        for target in targets:
            if disposition is Disposition.APPROVED:
                requests.append(Approve(draft.draft_id, target))
            elif disposition is Disposition.REJECTED:
                requests.append(Reject(draft.draft_id, target, text or ""))
            else:
                requests.append(Discuss(draft.draft_id, target, text or ""))
        first = ask_host(project, draft.session_id, requests[0])
        if first is not None:
            for request in requests[1:]:
                ask_host(project, draft.session_id, request)
            return project.drafts.load(draft.draft_id)
    try:
        return decide(project, draft.draft_id, disposition, uris=uris,
                      reason=text if disposition is Disposition.REJECTED else None,
                      comment=text if disposition is Disposition.DISCUSS else None,
                      channel_id=cli_channel_id())  # fmt: skip
    except SessionChannelError as exc:
        raise CommandError(str(exc)) from None


def decide_and_report(
    project: Project,
    draft_id: UUID,
    disposition: Disposition,
    artifacts: list[str] | None,
    text: str | None,
) -> int:
    draft = project.drafts.load(draft_id)
    draft = record_decision(project, draft, disposition, list(artifacts or []), text)
    what = ", ".join(artifacts) if artifacts else "all artifacts"
    print(f"{disposition.value.capitalize()}: {what} in draft {draft.short_id} "
          f"(draft is {draft.status.value}).")  # fmt: skip
    return 0


def _decide_cmd(args: argparse.Namespace, disposition: Disposition, text: str | None) -> int:
    project = open_project(args)
    draft_id = resolve_draft(project, args.draft)
    return decide_and_report(project, draft_id, disposition, args.artifact, text)


def cmd_approve(args: argparse.Namespace) -> int:
    return _decide_cmd(args, Disposition.APPROVED, None)


def cmd_reject(args: argparse.Namespace) -> int:
    return _decide_cmd(args, Disposition.REJECTED, args.reason)


def cmd_discuss(args: argparse.Namespace) -> int:
    if not (args.comment or "").strip():
        raise CommandError("a discussion needs --comment TEXT", code=2)
    return _decide_cmd(args, Disposition.DISCUSS, args.comment)


def cmd_apply(args: argparse.Namespace) -> int:
    from ta_session.workspace.apply import ApplyError, apply_draft

    project = open_project(args)
    draft_id = resolve_draft(project, args.draft)
    try:
        paths = apply_draft(project, draft_id, force=args.force, channel_id=cli_channel_id())
    except ApplyError as exc:
        raise CommandError(f"Draft {str(draft_id)[:8]} not applied: {exc}") from None
    print(f"Applied draft {str(draft_id)[:8]}: {len(paths)} file(s) written to {project.root}.")
    for path in paths:
        print(f"  {path}")
    return 0


def inline_review(project: Project, draft_id: UUID) -> None:
    """Review a draft in this terminal right after the agent exits, then offer to apply."""
    from ta_session.channels.review import review_inline
    from ta_session.workspace.apply import ApplyError, apply_draft
    from ta_session.workspace.review import decide

    draft = project.drafts.load(draft_id)
    channel = cli_channel_id()
    colour = use_colour()

    def ask(prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            return None

    def record(artifact: Any, disposition: Disposition, text: str | None) -> None:
        decide(project, draft_id, disposition, uris=[artifact.resource_uri],
               reason=text if disposition is Disposition.REJECTED else None,
               comment=text if disposition is Disposition.DISCUSS else None,
               channel_id=channel)  # fmt: skip

    def apply() -> list[str]:
        try:
            paths = apply_draft(project, draft_id, channel_id=channel)
        except ApplyError as exc:
            print(f"Not applied: {exc}")
            return []
        print(f"Applied {len(paths)} file(s) to {project.root}: {', '.join(paths)}")
        return paths

    try:
        review_inline(draft, ask=ask, say=print, render=lambda a: render_artifact(a, colour),
                      decide=record, apply=apply)  # fmt: skip
    except KeyboardInterrupt:
        print(f"\nReview interrupted. Continue with 'ta draft view {draft.short_id}'.")
