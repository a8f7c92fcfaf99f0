"""The errors the model raises."""


class SessionChannelError(Exception):
    """A rule of the session model was broken (e.g. an invalid state transition).

    The message is meant for people: it is printed as-is on the command line.
    """


class RecordFormatError(ValueError):
    """A stored record could not be understood; the message says why."""
