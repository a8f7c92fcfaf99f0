"""Inline review in the terminal (SPEC §7): after the agent exits, each artifact with its diff,
``[a]pprove [r]eject [d]iscuss [s]kip``, then an offer to apply what was approved.

The loop reads answers line by line from ``ask`` and writes through ``say``, so it works in any
terminal (and is easy to drive from a test); what each answer does is up to ``decide`` and
``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ta_session.model.display import visible
from ta_session.model.draft import Artifact, Disposition, Draft

Ask = Callable[[str], str | None]  # prompt → the line typed, or None at end of input
Say = Callable[[str], None]


@dataclass
class ReviewOutcome:
    decided: dict[str, Disposition] = field(default_factory=dict)
    applied: list[str] | None = None
    quit: bool = False


def review_inline(
    draft: Draft,
    *,
    ask: Ask,
    say: Say,
    render: Callable[[Artifact], str],
    decide: Callable[[Artifact, Disposition, str | None], None],
    apply: Callable[[], list[str]],
) -> ReviewOutcome:
    outcome = ReviewOutcome()
    pending = [a for a in draft.artifacts if a.disposition is Disposition.PENDING]
    # The summary, warnings and every rendered artifact are made safe to show (``visible``):
    # names and diffs come from the agent.
    say(
        f"\nDraft {draft.short_id}: {visible(draft.summary)}"
        f" — {len(draft.artifacts)} artifact(s) to review."
    )
    for warning in draft.warnings:
        say("WARNING: " + visible(warning.message))
    for number, artifact in enumerate(pending, start=1):
        say(f"\n[{number}/{len(pending)}] " + render(artifact))
        while True:
            answer = ask("[a]pprove [r]eject [d]iscuss [s]kip [q]uit? ")
            if answer is None:
                outcome.quit = True
                return outcome
            choice = answer.strip().lower()[:1]
            if choice == "a":
                decide(artifact, Disposition.APPROVED, None)
                outcome.decided[artifact.resource_uri] = Disposition.APPROVED
            elif choice == "r":
                reason = ask("  reason: ") or ""
                decide(artifact, Disposition.REJECTED, reason.strip() or None)
                outcome.decided[artifact.resource_uri] = Disposition.REJECTED
            elif choice == "d":
                comment = (ask("  comment: ") or "").strip()
                if not comment:
                    say("  a discussion needs a comment")
                    continue
                decide(artifact, Disposition.DISCUSS, comment)
                outcome.decided[artifact.resource_uri] = Disposition.DISCUSS
            elif choice == "s":
                pass
            elif choice == "q":
                outcome.quit = True
                return outcome
            else:
                say("  please answer a, r, d, s or q")
                continue
            break
    approved = [u for u, d in outcome.decided.items() if d is Disposition.APPROVED]
    if not approved:
        say("\nNothing approved: nothing to apply.")
        return outcome
    answer = ask(f"\nApply the {len(approved)} approved change(s) to the project now? [y/N] ")
    if answer is not None and answer.strip().lower().startswith("y"):
        outcome.applied = apply()
    else:
        say(f"Not applied. Apply later with 'ta draft apply {draft.short_id}'.")
    return outcome
