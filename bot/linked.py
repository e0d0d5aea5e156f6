"""Questions about the document a message links to (「https://www.city.example.lg.jp/keikaku.pdf
の目標年度は？」): answered from that document alone, as from an attached file, fetched as a
summary's URL is (public addresses only unless allowed, within the size and time limits).

A link that gives nothing to read (a page built by script, an address refused, a server that
does not answer) leaves the question to the index, as if it had no link: e-Gov's law pages, for
one, hold no text until a browser runs them, and the index has the laws.
"""

from __future__ import annotations

import logging

from bot import commands
from bot.asker import Asker
from bot.assistant import Assistant
from bot.attached import answer_from_files, read_files
from bot.fetch import FetchPolicy, fetch_document
from bot.turns import Answer, Progress, starts_as_command
from knowledge.errors import BaibainError
from knowledge.query import web_addresses, without_web_addresses

log = logging.getLogger(__name__)

# Less than this besides the link is no question (a link alone is summarized).
_MIN_QUESTION_CHARS = 4


def linked_address(message: str) -> str | None:
    """The one web address a message links to when it asks something besides (not a command,
    not a link alone); ``None`` otherwise, and for a message linking to several."""
    if starts_as_command(message) or commands.parse(message)[0] is not None:
        return None
    found = web_addresses(message)
    rest = without_web_addresses(message).strip()
    if len(found) != 1 or len(rest) < _MIN_QUESTION_CHARS:
        return None
    return found[0]


async def ask_about_link(
    assistant: Assistant,
    policy: FetchPolicy,
    message: str,
    asker: Asker,
    progress: Progress | None = None,
    *,
    address: str = "",
) -> Answer | None:
    """The answer to ``message`` from the document it links to (or at ``address``: the one
    its thread's opening linked to), cited with its address; ``None`` when it links to none
    (``linked_address``) or to nothing that can be read."""
    address = address or linked_address(message) or ""
    if not address:
        return None
    try:
        name, data = await fetch_document(address, policy)
        read = await read_files([(name, data)], asker, source_url=address)
    except BaibainError as exc:
        log.info("linked document not read, answered from the index: %s", exc.code)
        return None
    if not read.documents:
        return None
    return await answer_from_files(assistant, message, read, asker, progress)
