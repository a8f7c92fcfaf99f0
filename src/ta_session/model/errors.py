"""The errors the model raises, and the base class of every expected failure."""


class TaError(Exception):
    """An expected failure (bad input, a refused request, a missing file, a host that is gone).

    Every layer's own errors derive from it; the message is a complete sentence for the user,
    so a channel prints it as one line and never needs a traceback.
    """


class SessionChannelError(TaError):
    """A rule of the session model was broken (e.g. an invalid state transition).

    The message is meant for people: it is printed as-is on the command line.
    """


class RecordFormatError(TaError, ValueError):
    """A stored record could not be understood; the message says why."""


def _refuse_constant(name: str) -> object:
    # Python reads NaN and Infinity, which are not JSON: the reference (serde_json) refuses
    # them, and writing them back would make a file no JSON reader accepts.
    raise RecordFormatError(f"not valid JSON: {name} is not a JSON value")


def loads_json(text: str | bytes) -> object:
    """``json.loads`` whose failure is a ``RecordFormatError`` saying what was wrong."""
    import json

    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordFormatError(f"not valid JSON: {exc}") from None
    except RecursionError:
        # serde_json stops at 128 levels; Python's parser at its recursion limit, by raising.
        raise RecordFormatError("not valid JSON: nested too deeply") from None
