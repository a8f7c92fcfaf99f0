"""The errors the model raises."""


class SessionChannelError(Exception):
    """A rule of the session model was broken (e.g. an invalid state transition).

    The message is meant for people: it is printed as-is on the command line.
    """


class RecordFormatError(ValueError):
    """A stored record could not be understood; the message says why."""


def loads_json(text: str | bytes) -> object:
    """``json.loads`` whose failure is a ``RecordFormatError`` saying what was wrong."""
    import json

    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordFormatError(f"not valid JSON: {exc}") from None
