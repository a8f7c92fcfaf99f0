"""``ta draft build|list|view|approve|reject|discuss|apply``."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from ta_session.cli.context import draft_service, report_bad_files
from ta_session.cli.output import UsageError, one_line, print_json, style, table, use_colour
from ta_session.model.display import visible
from ta_session.model.draft import Disposition, Draft, decode_path, show_path
from ta_session.service.drafts import DraftService
from ta_session.service.errors import ServiceError


def cmd_build(args: argparse.Namespace) -> int:
    drafts = draft_service(args)
    draft = drafts.build(drafts.resolve_goal(args.goal) if args.goal else None)
    if draft is None:
        print("No changes in the workspace: no draft was built.")
        return 0
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
        one_line(visible(draft.summary), 40),
        draft.created_at.isoformat().removesuffix("Z").partition(".")[0].replace("T", " "),
    ]


def cmd_list(args: argparse.Namespace) -> int:
    service = draft_service(args)
    drafts = service.list(service.resolve_goal(args.goal) if args.goal else None)
    report_bad_files(service.project.drafts.bad_files)
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
    """The diff as it is shown: every line made safe (``visible``: an escape sequence in an
    added line is shown, never run), then coloured around the escaped text.

    Lines are split at ``\n`` only, so a carriage return inside a line is shown as ``\r``
    instead of sending the cursor back over what the line said.
    """
    out = []
    for line in diff.split("\n"):
        shown = visible(line)
        if not colour or not shown:
            out.append(shown)
        elif shown.startswith(("+++", "---")):
            out.append(style(shown, "1", True))
        elif shown.startswith("+"):
            out.append(style(shown, "32", True))
        elif shown.startswith("-"):
            out.append(style(shown, "31", True))
        elif shown.startswith("@@"):
            out.append(style(shown, "36", True))
        else:
            out.append(shown)
    return "\n".join(out)


def render_artifact(artifact: Any, colour: bool) -> str:
    lines = [style(artifact.describe(), "1", colour)]
    lines.append(f"  disposition: {artifact.disposition.value}"
                 + (f" — {visible(artifact.reason)}" if artifact.reason else "")
                 + (f" — {visible(artifact.comment)}" if artifact.comment else ""))  # fmt: skip
    if artifact.diff:
        lines.append(colour_diff(artifact.diff, colour).rstrip("\n"))
    elif artifact.binary:
        lines.append(
            f"  binary file: {artifact.base_size or 0} → {artifact.new_size or 0} bytes, "
            f"{artifact.base_hash or '-'} → {artifact.new_hash or '-'}"
        )
    elif artifact.kind == "symlink":
        lines.append(f"  symlink → {artifact.shown_link_target}")
    elif artifact.change_type.value == "modify" and artifact.base_hash == artifact.new_hash:
        lines.append("  permissions changed only")
    else:
        lines.append(f"  (no diff: {artifact.base_hash or '-'} → {artifact.new_hash or '-'})")
    return "\n".join(lines)


def cmd_view(args: argparse.Namespace) -> int:
    service = draft_service(args)
    draft = service.load(service.resolve(args.draft))
    if args.json:
        print_json(draft.to_dict())
        return 0
    colour = use_colour()
    print(f"Draft:    {draft.draft_id}")
    print(f"Goal:     {draft.goal_id}")
    print(f"Session:  {draft.session_id or '-'}")
    print(f"Status:   {draft.status.value}")
    print(f"Summary:  {visible(draft.summary)}")
    print(f"Created:  {draft.created_at.isoformat()}")
    for warning in draft.warnings:
        print(style("WARNING: " + visible(warning.message), "1;31", colour))
    for artifact in draft.artifacts:
        print()
        print(render_artifact(artifact, colour))
    return 0


def report_decision(draft: Draft, disposition: Disposition, artifacts: list[str] | None) -> int:
    what = ", ".join(artifacts) if artifacts else "all artifacts"
    print(f"{disposition.value.capitalize()}: {what} in draft {draft.short_id} "
          f"(draft is {draft.status.value}).")  # fmt: skip
    return 0


def _decide_cmd(args: argparse.Namespace, disposition: Disposition, text: str | None) -> int:
    service = draft_service(args)
    draft_id = service.resolve(args.draft)
    draft = service.decide(draft_id, disposition, list(args.artifact or []), text)
    return report_decision(draft, disposition, args.artifact)


def cmd_approve(args: argparse.Namespace) -> int:
    return _decide_cmd(args, Disposition.APPROVED, None)


def cmd_reject(args: argparse.Namespace) -> int:
    return _decide_cmd(args, Disposition.REJECTED, args.reason)


def cmd_discuss(args: argparse.Namespace) -> int:
    if not (args.comment or "").strip():
        raise UsageError("a discussion needs --comment TEXT")
    return _decide_cmd(args, Disposition.DISCUSS, args.comment)


def cmd_apply(args: argparse.Namespace) -> int:
    service = draft_service(args)
    draft_id = service.resolve(args.draft)
    applied = service.apply(draft_id, force=args.force, allow_setuid=args.allow_setuid)
    count, root = len(applied.paths), service.project.root
    print(f"Applied draft {str(applied.draft_id)[:8]}: {count} file(s) written to {root}.")
    for path in applied.paths:
        print(f"  {show_path(decode_path(path))}")
    return 0


def inline_review(service: DraftService, draft_id: UUID) -> None:
    """Review a draft in this terminal right after the agent exits, then offer to apply.

    In a terminal each choice is one key, without Enter; from a script (stdin not a terminal),
    one answer per line."""
    from ta_session.channels.keys import prompter
    from ta_session.channels.review import review_inline

    draft = service.load(draft_id)
    colour = use_colour()

    def record(artifact: Any, disposition: Disposition, text: str | None) -> None:
        service.decide(draft_id, disposition, [artifact.resource_uri], text)

    def apply() -> list[str]:
        try:
            paths = service.apply(draft_id).paths
        except ServiceError as exc:
            print(f"Not applied: {exc}")
            return []
        shown = ", ".join(show_path(decode_path(p)) for p in paths)
        print(f"Applied {len(paths)} file(s) to {service.project.root}: {shown}")
        return paths

    try:
        review_inline(draft, prompter=prompter(), say=print,
                      render=lambda a: render_artifact(a, colour), decide=record,
                      apply=apply)  # fmt: skip
    except KeyboardInterrupt:
        print(f"\nReview interrupted. Continue with 'ta draft view {draft.short_id}'.")
