"""Slack mrkdwn: text someone else wrote is shown as written, never as formatting, a link or a ping.

Slack decodes only ``&amp;``, ``&lt;`` and ``&gt;``; with ``<`` and ``>`` escaped no mention
(``<!channel>``, ``<@U123>``) or link (``<https://x|click>``) can form. Slack has no escape for
``*bold*``, ``_italic_``, ``~strike~`` or a backtick, so in running text such a character is
replaced by a look-alike that does not format wherever it could open or close formatting (next to
a space, punctuation or either end; ``into_work`` keeps its underscore). Inside a code span those
characters are inert and kept.

Bidi controls (U+202E), zero-width and other format characters are shown as their escapes (``\\u202e``,
:func:`domain.text.neutralised`), so a file name cannot read backwards or hide part of itself; the email made from
the same text (``integrations.email.plain``) keeps them shown so.
"""

import re

from domain.text import neutralised

# Line breaks become spaces: a new line could start a quote (`&gt; `) that looks like ours.
_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " ", "\u2028": " ", "\u2029": " "})
_LOOK_ALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_AT_A_BOUNDARY = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])|`")


def escape(text: object) -> str:
    """Someone else's text for running mrkdwn prose."""
    return _AT_A_BOUNDARY.sub(lambda m: _LOOK_ALIKE[m.group()], neutralised(str(text).translate(_CONTROL)))


def code(text: object) -> str:
    """Someone else's text as an inline code span (file names, cells, ids): shown verbatim."""
    inner = neutralised(str(text).translate(_CONTROL)).replace("`", "\u02cb")
    return f"`{inner}`" if inner.strip() else "` `"
