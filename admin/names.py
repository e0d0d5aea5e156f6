"""Names staff type for organizations and datasets, as they are kept and looked up."""

from __future__ import annotations

import unicodedata

from knowledge.errors import BadInput


def typed_name(name: str) -> str:
    """``name`` without format characters (a byte order mark, zero-width spaces and joiners,
    which come with text pasted from web pages and PDFs and which nobody sees) and without
    spaces around it: 「横浜市」 and 「横浜市」 with a zero-width space are one name, and a name
    of nothing else is an empty one. ``BadInput`` for characters no encoding holds (lone
    surrogates: a terminal in another encoding), which no name has."""
    if any(unicodedata.category(c) == "Cs" for c in name):
        raise BadInput(
            "名前に読み取れない文字が含まれています。文字化けしていないか確認してください。"
        )
    return "".join(c for c in name if unicodedata.category(c) != "Cf").strip()


def has_control(text: str) -> bool:
    """Whether ``text`` holds a line break, tab or other control character: no name does."""
    return any(unicodedata.category(c) == "Cc" for c in text)
