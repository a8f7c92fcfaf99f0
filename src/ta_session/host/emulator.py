"""pyte, made fit for agents' output: the emulator behind the screen model (``screen``).

pyte's screen lacks the alternate screen, the keypad mode and a hook for lines scrolling off
the top; ``AgentScreen`` adds them. pyte also raises on many sequences real programs send
(extra parameters, private variants it does not know, such as vim's ``CSI ? 4 m``): each of its
handlers is wrapped to ignore what it cannot carry out, as a terminal does, so no output can
stop the emulator. ``render_line`` and ``plain_line`` turn a row back into text.
"""

from __future__ import annotations

import copy
import inspect
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyte
from pyte import graphics
from pyte.screens import StaticDefaultDict

ALT_MODES = (47, 1047, 1049)
# Private modes an attaching terminal must be put in to talk to the agent as before.
REPLAYED_MODES = (1, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004)
# Of the handlers pyte calls for CSI sequences, those that know what "private" ("CSI ? …")
# means. Another handler's private variant is a sequence pyte does not know: ignored.
_PRIVATE_AWARE = frozenset({"set_mode", "reset_mode", "erase_in_display", "erase_in_line"})

_NAMED = {"black": 0, "red": 1, "green": 2, "brown": 3, "blue": 4, "magenta": 5, "cyan": 6,
          "white": 7}  # fmt: skip
_PALETTE = {value: index for index, value in enumerate(graphics.FG_BG_256)}


def _colour(value: str, base: int) -> str:
    """The SGR parameters for a pyte colour; ``base`` 30 (foreground) or 40 (background)."""
    if value == "default":
        return ""
    if value in _NAMED:
        return str(base + _NAMED[value])
    if value.startswith(("bright", "bfight")):  # pyte spells bright magenta "bfightmagenta"
        name = value[6:]
        return str(base + 60 + _NAMED.get(name, 7))
    if value in _PALETTE:
        return f"{base + 8};5;{_PALETTE[value]}"
    try:
        r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return ""
    return f"{base + 8};2;{r};{g};{b}"


def sgr(char: Any) -> str:
    """The escape sequence that selects ``char``'s colours and attributes (from a reset)."""
    params = ["0"]
    for flag, code in (("bold", "1"), ("italics", "3"), ("underscore", "4"), ("blink", "5"),
                       ("reverse", "7"), ("strikethrough", "9")):  # fmt: skip
        if getattr(char, flag, False):
            params.append(code)
    params += [p for p in (_colour(char.fg, 30), _colour(char.bg, 40)) if p]
    return "\x1b[" + ";".join(params) + "m"


def render_line(line: Any, columns: int) -> str:
    """One buffer line as text with SGR sequences, trailing blanks left out, ending reset."""
    default = ("default", "default")
    last = -1
    for x in range(columns):
        char = line[x]
        if char.data not in (" ", "") or (char.fg, char.bg) != default or char.reverse:
            last = x
    out: list[str] = []
    pen = "\x1b[0m"  # every line starts from a reset pen
    for x in range(last + 1):
        char = line[x]
        if not char.data:
            continue  # the second cell of a wide character
        style = sgr(char)
        if style != pen:
            out.append(style)
            pen = style
        out.append(char.data)
    if pen and pen != "\x1b[0m":
        out.append("\x1b[0m")
    return "".join(out)


def plain_line(line: Any, columns: int) -> str:
    return "".join(line[x].data for x in range(columns)).rstrip()


class AgentScreen(pyte.Screen):
    """pyte's screen plus what it lacks: the alternate screen, the keypad mode, and a hook for
    lines scrolling off the top of the main screen."""

    def __init__(self, columns: int, lines: int, on_scroll: Callable[[Any], None]):
        self.on_scroll = on_scroll
        self.saved_main: tuple[Any, Any] | None = None  # (buffer, cursor) while on the alternate
        self.keypad = False
        self.scrolled = 0  # lines scrolled off the main screen so far
        self.on_erase: Callable[[], None] | None = None  # before the main screen is erased
        super().__init__(columns, lines)
        for name in set(pyte.Stream.csi.values()):
            setattr(self, name, _tolerant(name, getattr(self, name)))

    @property
    def alternate(self) -> bool:
        return self.saved_main is not None

    def reset(self) -> None:
        super().reset()
        self.saved_main = None
        self.keypad = False

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and self.saved_main is None:
            self.scrolled += 1
            self.on_scroll(self.buffer[0])
        super().index()

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        if how in (2, 3) and self.on_erase is not None and self.saved_main is None:
            self.on_erase()
        super().erase_in_display(how, *args, **kwargs)

    def set_mode(self, *ms: int, **kwargs: Any) -> None:
        if kwargs.get("private") and any(m in ALT_MODES for m in ms):
            self.enter_alternate()
        super().set_mode(*ms, **kwargs)

    def reset_mode(self, *ms: int, **kwargs: Any) -> None:
        if kwargs.get("private") and any(m in ALT_MODES for m in ms):
            self.leave_alternate()
        super().reset_mode(*ms, **kwargs)

    def enter_alternate(self) -> None:
        if self.saved_main is None:
            self.saved_main = (self.buffer, copy.copy(self.cursor))
            self.buffer = defaultdict(lambda: StaticDefaultDict(self.default_char))
            self.dirty.update(range(self.lines))

    def leave_alternate(self) -> None:
        if self.saved_main is not None:
            self.buffer, self.cursor = self.saved_main
            self.saved_main = None
            self.dirty.update(range(self.lines))

    def keypad_application(self) -> None:
        self.keypad = True

    def keypad_numeric(self) -> None:
        self.keypad = False


def _tolerant(name: str, handler: Callable[..., Any]) -> Callable[..., None]:
    """``handler`` as a terminal treats a control sequence: parameters past those it takes are
    ignored, and a sequence it cannot carry out (a private variant it does not know, values
    pyte trips over) is ignored. Any output at all must never stop the screen model."""
    signature = inspect.signature(handler).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in signature):
        most: int | None = None
    else:
        most = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in signature)
    private_aware = name in _PRIVATE_AWARE

    def call(*params: int, private: bool = False) -> None:
        if private and not private_aware:
            return
        try:
            if private:
                handler(*params[:most], private=True)
            else:
                handler(*params[:most])
        except Exception:  # pyte trips over odd input: the screen carries on
            return

    return call


class AgentStream(pyte.ByteStream):
    # ESC = and ESC > (keypad modes), which pyte ignores, go to AgentScreen.

    escape = {**pyte.ByteStream.escape, "=": "keypad_application", ">": "keypad_numeric"}  # noqa: RUF012
