"""Partner text shown on a terminal, in any plain-text output or in a message: presentation rules the faces share.

A return's file name, a participant id or a cell's value is the partner's to choose. Shown as it came, an escape
sequence (ESC, read from a file name or from Excel's ``_x001B_``) could recolour, clear or retitle the officer's
terminal, and a carriage return or a newline could overwrite or forge a line. Each control or format character
is shown as its Python escape instead (``\\x1b``, ``\\r``, ``\\u202e``), so the text stays readable and nothing
in it acts. In a Slack message or an email (:func:`neutralised`, :func:`shortened`) the same holds for what would
reorder or hide the text, and a value is quoted short: the feedback workbook holds it whole.
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


# --- Partner text in a message (Slack and email alike) ---------------------------------------------------------

QUOTE_LIMIT = 100  # characters of a partner's value or file name quoted in a message; the rest is in the workbook
ELLIPSIS = "…"

# Joiners spell ordinary words (Persian, Indic scripts) and emoji between two such characters; elsewhere they hide.
_JOINERS = {"\u200c", "\u200d"}


def shortened(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` as quoted in a message: at most ``limit`` characters, an ellipsis in place of what was left out."""
    value = str(text)
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + ELLIPSIS


def _spelling(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "So"


def neutralised(text: object) -> str:
    """Partner text for a message: what would act rather than show is shown as its escape.

    A right-to-left override (U+202E) makes ``invoice\\u202exslx.exe`` read as ``invoiceexe.xlsx``; other bidi
    controls, zero-width and format characters hide or reorder text the same way, and a control character has no
    business in a message. Each becomes its visible escape (``\\u202e``), as :func:`printable` shows it on a
    terminal. Letters of every script (CJK, Arabic, Hebrew) are kept; line breaks are left for the message's own
    format to deal with, and a zero-width joiner or non-joiner between two letters stays (it spells the word).
    """
    value = str(text)
    if value.isprintable():  # the common case: no control, format or separator character in it
        return value
    return "".join(ch if _kept(value, n) else _shown(ch) for n, ch in enumerate(value))


def _kept(value: str, n: int) -> bool:
    ch = value[n]
    if ch in "\n\r" or unicodedata.category(ch) not in _ACTING:
        return True
    return ch in _JOINERS and 0 < n < len(value) - 1 and _spelling(value[n - 1]) and _spelling(value[n + 1])
