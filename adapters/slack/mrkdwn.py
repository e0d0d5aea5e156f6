"""Answer text → Slack mrkdwn (pure): escaping, and Markdown as models write it
(see ``adapters.markdown``): bold lines and headings as ``*…*`` lines, ``[名前](URL)`` as
Slack links."""

from __future__ import annotations

from adapters.markdown import restyle


def escape(text: str) -> str:
    """Text safe inside mrkdwn (``&``, ``<``, ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_label(text: str) -> str:
    """The label of a ``<url|label>`` link (a ``|`` would end it)."""
    return escape(text).replace("|", "｜")


def to_mrkdwn(text: str) -> str:
    """``text`` as mrkdwn: escaped, with Markdown's headings, bold, lists and links turned
    into what Slack shows as such."""
    return restyle(
        text, mark="*", link=lambda name, url: f"<{url}|{link_label(name)}>", escape=escape
    )
