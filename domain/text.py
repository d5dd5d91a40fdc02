"""Partner text shown on a terminal or in any plain-text output: a presentation rule the faces share.

A return's file name, a participant id or a cell's value is the partner's to choose. Shown as it came, an escape
sequence (ESC, read from a file name or from Excel's ``_x001B_``) could recolour, clear or retitle the officer's
terminal, and a carriage return or a newline could overwrite or forge a line. Each control or format character
is shown as its Python escape instead (``\\x1b``, ``\\r``, ``\\u202e``), so the text stays readable and nothing
in it acts.
"""

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Cc: C0 and C1 controls and DEL; Cf: format characters (bidi overrides, zero-width); Cs: lone surrogates;
# Zl, Zp: Unicode's own line and paragraph separators.
_ACTING = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _shown(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) not in _ACTING:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object) -> str:
    """``text`` on one line, every control and format character in it (newline included) shown escaped."""
    value = str(text)
    if value.isprintable():  # the common case: nothing to do
        return value
    return "".join(_shown(ch) for ch in value)


def printable_lines(text: object) -> str:
    """``text`` with its line breaks kept and every other control or format character shown escaped."""
    return "\n".join(printable(line) for line in str(text).split("\n"))
