"""Inline review in the terminal (SPEC §7): after the agent exits, each artifact with its diff,
``[a]pprove [r]eject [d]iscuss [s]kip [q]uit``, then an offer to apply what was approved.

The loop asks through a ``Prompter`` (``channels.keys``: one key without Enter in a terminal,
one answer per line from a script) and writes through ``say``, so it works in any terminal and
is easy to drive from a test; what each answer does is up to ``decide`` and ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ta_session.channels.keys import Prompter
from ta_session.model.display import visible
from ta_session.model.draft import Artifact, Disposition, Draft

Say = Callable[[str], None]

CHOICES = "[a]pprove [r]eject [d]iscuss [s]kip [q]uit? "
KEYS = "Keys: a approve · r reject (asks a reason) · d discuss (asks a comment) · s skip · q quit"
ONE_KEY = "One key, no Enter. Each decision is saved at once; q stops and keeps them."


@dataclass
class ReviewOutcome:
    decided: dict[str, Disposition] = field(default_factory=dict)
    applied: list[str] | None = None
    quit: bool = False


def review_inline(
    draft: Draft,
    *,
    prompter: Prompter,
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
    if pending:
        say(KEYS)
        if prompter.single_key:
            say(ONE_KEY)
    for number, artifact in enumerate(pending, start=1):
        say(f"\n[{number}/{len(pending)}] " + render(artifact))
        while True:
            choice = prompter.choose(CHOICES)
            if choice is None:
                outcome.quit = True
                return outcome
            if choice == "a":
                decide(artifact, Disposition.APPROVED, None)
                outcome.decided[artifact.resource_uri] = Disposition.APPROVED
            elif choice == "r":
                reason = prompter.line("  reason: ") or ""
                decide(artifact, Disposition.REJECTED, reason.strip() or None)
                outcome.decided[artifact.resource_uri] = Disposition.REJECTED
            elif choice == "d":
                comment = (prompter.line("  comment: ") or "").strip()
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
    # Only a key pressed after this question is shown answers it (``fresh``), and Enter is no
    # answer at all: a key typed ahead, or the Enter of a habitual "a⏎", must not decide
    # whether the project is written. Anything but y leaves it alone.
    say("")
    question = f"Apply the {len(approved)} approved change(s) to the project now? [y/n] "
    if prompter.choose(question, fresh=True) == "y":
        outcome.applied = apply()
    else:
        say(f"Not applied. Apply later with 'ta draft apply {draft.short_id}'.")
    return outcome
