"""A meeting's record cut at its speakers: each turn a section under the speaker.

Council and committee minutes open every turn with a mark and the speaker as the minutes name
them, the speech after it or on the lines below: 「○議長（山田太郎君）　次に、日程第2、…」,
「○15番（田中一郎君）」, 「○田中委員　…」, 「◯委員長」. Cut by size alone, a passage runs from one
speaker into the next and never says who speaks; cut at the speakers, every passage of a turn
is read under its speaker (the heading) and cited by the turn's number (「発言12」, in a PDF
「3ページ 発言12」), so an answer can say it was the 危機管理監's reply to a member's question.

◎ and ◆ mark a speaker in some minutes (「◆１番（佐藤花子君）」) and an agenda item's heading in
others (「◎日程第1 一般質問」): they mark a speaker only before a name in brackets. An agenda
heading ends the turn above it and opens the next one. The lines before the first speaker
(出席議員, 議事日程) stay as their sections were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from knowledge.documents import Section
from knowledge.speakers import turn_position

# The speaker as the minutes name them: a title or seat before a name in brackets
# (「危機管理監（鈴木次郎君）」, 「15番（田中一郎君）」), or, after ○ only, a title or a name with
# its title (「委員長」, 「田中委員」) before a space or the line's end; the speech follows on
# the line or on the lines below.
_HEAD = r"[^\s（）()。、「」・:：]{1,15}"
_NAMED = re.compile(rf"^[○〇◯◎◆][ 　]*({_HEAD}[（(][^（）()0-9０-９。、]{{1,20}}[）)])")
_TITLED = re.compile(
    rf"^[○〇◯][ 　]*({_HEAD}?(?:長|委員|議員|君|さん|氏|番|監|官|理事|参与|参事))(?:[ 　]|$)"
)
# What the opening's lists are headed with, not speakers: 「○出席議員（20名）」, 「○欠席議員」,
# 「○議事日程」, 「○会議録署名議員」, 「○説明のため出席した者の職氏名」.
_NOT_SPEAKER = re.compile(r"出席|欠席|日程|署名|事件|職氏名|名簿|宣告|なし")
_AGENDA = re.compile(r"^[◎◆]")
# A PDF's page of text (「3ページ」), not a table on it (「3ページ 表1 1〜20行」).
_PAGE = re.compile(r"^[0-9]+ページ$")


def speaker(line: str) -> str:
    """The speaker a line of minutes opens a turn of (「市長（佐藤花子君）」), else ``""``."""
    line = line.strip()
    found = _NAMED.match(line) or _TITLED.match(line)
    if found is None or _NOT_SPEAKER.search(found[1]):
        return ""
    return " ".join(found[1].split())


@dataclass
class _Turns:
    """The sections read so far, the open turn's lines and the agenda lines held for the next."""

    paged: bool
    sections: list[Section] = field(default_factory=list)
    number: int = 0
    speaker: str = ""
    lines: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    page: str = ""

    def close(self) -> None:
        """Emit the open turn's lines on this page (or all of them) as a section."""
        if self.lines:
            position = turn_position(self.number, self.page if self.paged else "")
            text = "\n".join(self.lines)
            self.sections.append(Section(text=text, heading=self.speaker, position=position))
        self.lines = []

    def open(self, name: str, line: str) -> None:
        """Start the next turn, with the agenda heading held above it."""
        self.close()
        self.number += 1
        self.speaker = name
        self.lines = [*self.held, line]
        self.held = []


def speaker_sections(sections: Sequence[Section], *, paged: bool) -> tuple[Section, ...]:
    """A meeting's record as one section per speaker's turn (``paged``: a PDF's, whose page
    sections 「3ページ」 cut a turn that runs over a page, each piece cited 「3ページ 発言12」);
    the sections before the first speaker as they were, and ``sections`` unchanged when no
    line opens a turn. A table of a PDF's page stays a section of its own."""
    turns = _Turns(paged=paged)
    for section in sections:
        if paged and not _PAGE.match(section.position):
            turns.sections.append(section)  # a table, cited by its rows (「3ページ 表1 …」)
            continue
        turns.page = section.position
        before: list[str] = []
        for line in section.text.splitlines():
            if name := speaker(line):
                if before:
                    turns.sections.append(replace(section, text="\n".join(before)))
                    before = []
                turns.open(name, line)
            elif not turns.number:
                before.append(line)
            elif turns.held or _AGENDA.match(line.strip()):
                turns.held.append(line)
            else:
                turns.lines.append(line)
        if before:
            turns.sections.append(replace(section, text="\n".join(before)))
        if paged:
            turns.close()
    if not turns.number:  # no line opens a turn: read as any other text
        return tuple(sections)
    turns.lines += turns.held  # an agenda heading no turn follows (「◎散会」) ends the last
    turns.close()
    return tuple(turns.sections)
