"""Questions an agent asks the human through MCP ``ask_human`` (SPEC §8), while they wait.

A question has an id, the text, an optional context, a response hint (``freeform``, ``yes_no``
or ``choice`` with its choices) and a deadline. The first valid answer from any channel closes
it; so does its deadline, or the agent going away. A closed question is remembered for a while,
so that a second answer gets a clear "already answered by …" instead of "no such question".

This module only keeps the book: what a question's opening and closing do to the session
(events, the log, the audit) is ``agent_channel``'s business.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_QUESTION = 8 << 10  # characters of a question, and of its context
MAX_CHOICES = 50
MAX_TIMEOUT = 24 * 3600.0  # seconds an agent may wait for one answer
REMEMBERED = 256  # closed questions kept for "already answered" replies
# An answer without a question id this soon after the last question was answered is a second
# answer to it (two people at once), not something to type into the agent.
RECENT_ANSWER = 10.0

_YES = {"y", "yes", "true", "ok", "1"}
_NO = {"n", "no", "false", "0"}


class ResponseHint(StrEnum):
    FREEFORM = "freeform"
    YES_NO = "yes_no"
    CHOICE = "choice"


class Outcome(StrEnum):
    ANSWERED = "answered"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"  # the agent's connection went away, or the session ended


class QuestionError(ValueError):
    """A question or an answer that cannot be taken; the message is for whoever sent it."""


@dataclass(slots=True)
class Question:
    question_id: str
    text: str
    context: str | None
    hint: ResponseHint
    choices: list[str]
    timeout: float
    asked_at: float  # time.time()
    deadline: float  # time.monotonic()
    asker: Any = None  # who waits for the answer (the agent's connection)
    outcome: Outcome | None = None
    answer: str | None = None
    answered_by: str | None = None
    closed_at: float | None = None  # time.monotonic()

    @property
    def prompt(self) -> str:
        """The question as one line for people: text and what kind of answer it takes."""
        if self.hint is ResponseHint.YES_NO:
            return f"{self.text} [yes/no]"
        if self.hint is ResponseHint.CHOICE:
            return f"{self.text} [{' / '.join(self.choices)}]"
        return self.text

    def to_json(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "prompt": self.prompt,
            "question": self.text,
            "context": self.context,
            "response_hint": self.hint.value,
            "choices": list(self.choices),
            "asked_at": self.asked_at,
            "timeout_secs": self.timeout,
        }

    def validate(self, text: str) -> str:
        """The answer as the agent gets it, or ``QuestionError`` saying what would be valid."""
        answer = text.strip()
        if not answer:
            raise QuestionError("an empty answer")
        if self.hint is ResponseHint.YES_NO:
            word = answer.lower()
            if word in _YES:
                return "yes"
            if word in _NO:
                return "no"
            raise QuestionError(
                f"question {self.question_id} takes yes or no; {answer!r} is neither"
            )
        if self.hint is ResponseHint.CHOICE:
            for choice in self.choices:
                if answer.casefold() == choice.casefold():
                    return choice
            if answer.isdigit() and 1 <= int(answer) <= len(self.choices):
                return self.choices[int(answer) - 1]  # the choice's number, as listed
            listed = ", ".join(repr(c) for c in self.choices)
            raise QuestionError(
                f"question {self.question_id} takes one of {listed} (or its number); "
                f"{answer!r} is not one"
            )
        return text


def new_question(
    arguments: dict[str, Any], *, clock: Callable[[], float] = time.monotonic
) -> Question:
    """A question from an ``ask_human`` request; ``QuestionError`` names a bad field."""
    text = arguments.get("question")
    if not isinstance(text, str) or not text.strip():
        raise QuestionError("ask_human needs a non-empty 'question'")
    context = arguments.get("context")
    if context is not None and not isinstance(context, str):
        raise QuestionError("'context' must be text")
    if len(text) > MAX_QUESTION or len(context or "") > MAX_QUESTION:
        raise QuestionError(f"a question and its context are at most {MAX_QUESTION} characters")
    try:
        hint = ResponseHint(arguments.get("response_hint") or "freeform")
    except ValueError:
        raise QuestionError("'response_hint' must be freeform, yes_no or choice") from None
    raw = arguments.get("choices") or []
    if not isinstance(raw, list) or not all(isinstance(c, str) and c.strip() for c in raw):
        raise QuestionError("'choices' must be a list of non-empty texts")
    choices = [c.strip() for c in raw][:MAX_CHOICES]
    if hint is ResponseHint.CHOICE and len(choices) < 2:
        raise QuestionError("a 'choice' question needs at least two choices")
    timeout = arguments.get("timeout_secs", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise QuestionError("'timeout_secs' must be a positive number of seconds")
    timeout = min(float(timeout), MAX_TIMEOUT)
    return Question(
        question_id="q" + uuid.uuid4().hex[:8],
        text=text.strip(),
        context=context,
        hint=hint,
        choices=choices if hint is ResponseHint.CHOICE else [],
        timeout=timeout,
        asked_at=time.time(),
        deadline=clock() + timeout,
    )


@dataclass
class QuestionBook:
    """The pending questions of one session, oldest first, and the recently closed ones."""

    clock: Callable[[], float] = time.monotonic
    pending: OrderedDict[str, Question] = field(default_factory=OrderedDict)
    closed: OrderedDict[str, Question] = field(default_factory=OrderedDict)

    def add(self, question: Question) -> None:
        self.pending[question.question_id] = question

    def find(self, question_id: str | None) -> Question:
        """The pending question an answer is for (``None``: the only one pending). Raises
        ``QuestionError`` with what happened to a closed one, or which ids are pending."""
        if question_id is None:
            if self.recently_answered():
                return self.find(next(reversed(self.closed)))  # raises: already answered by …
            if len(self.pending) == 1:
                return next(iter(self.pending.values()))
            ids = ", ".join(self.pending)
            raise QuestionError(f"several questions are pending ({ids}): say which (--question)")
        question = self.pending.get(question_id)
        if question is not None:
            return question
        done = self.closed.get(question_id)
        if done is None:
            pending = ", ".join(self.pending) or "none"
            raise QuestionError(f"no question {question_id} (pending: {pending})")
        if done.outcome is Outcome.ANSWERED:
            raise QuestionError(
                f"question {question_id} was already answered by {done.answered_by}: "
                f"{done.answer!r}"
            )
        if done.outcome is Outcome.TIMED_OUT:
            raise QuestionError(f"question {question_id} timed out; the agent went on without it")
        raise QuestionError(f"question {question_id} was withdrawn (the agent stopped waiting)")

    def close(self, question: Question, outcome: Outcome, answer: str | None = None,
              by: str | None = None) -> None:  # fmt: skip
        question.outcome, question.answer, question.answered_by = outcome, answer, by
        question.closed_at = self.clock()
        self.pending.pop(question.question_id, None)
        self.closed[question.question_id] = question
        while len(self.closed) > REMEMBERED:
            self.closed.popitem(last=False)

    def recently_answered(self) -> bool:
        """An answer with no question id now would be a late second answer (``find`` says)."""
        if self.pending or not self.closed:
            return False
        last = next(reversed(self.closed.values()))
        return (
            last.outcome is Outcome.ANSWERED
            and last.closed_at is not None
            and self.clock() - last.closed_at < RECENT_ANSWER
        )

    def expired(self) -> list[Question]:
        now = self.clock()
        return [q for q in self.pending.values() if q.deadline <= now]

    def asked_by(self, asker: Any) -> list[Question]:
        return [q for q in self.pending.values() if q.asker is asker]
