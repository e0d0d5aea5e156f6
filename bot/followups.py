"""Which questions continue a conversation: in a thread, or pointing back at it; and, offline,
which of a thread's questions start a new topic."""

from __future__ import annotations

import re
import unicodedata

from bot.asker import Asker
from knowledge.analysis import Analyzer

# A question that points back at the conversation: a demonstrative (「その期限は」), a
# leading conjunction (「では転出は」) or only a case (「外国人の場合は？」).
_REFERS_BACK = re.compile(
    r"それ|その|そこ|そちら|これ|この|ここ|あれ|あの|同じ|上記|前述|先ほど|さっき|今の"
    r"|^(?:では|じゃあ|なら|だったら|あと|また|ちなみに|ほかに|他に|さらに)"
    r"|場合は[?？]?$"
)


def follows_up(asker: Asker, question: str) -> bool:
    """Whether a question continues the conversation's earlier turns. In a thread it does;
    a direct message outside a thread is one long conversation, where staff ask one
    unrelated question after another, so only a question that points back continues it."""
    ref = asker.conversation
    if ref is not None and ref.thread_id:
        return True
    return _REFERS_BACK.search(unicodedata.normalize("NFKC", question)) is not None


def new_topic(analyzer: Analyzer, earlier: list[str], question: str) -> bool:
    """Whether a thread's question that does not point back is about something else than the
    earlier questions: it names two things or more, none of which they named (「生活保護の申請は
    誰ができますか」 after 「転入届は何日以内に出しますか」), so their words would only stand in
    its way. A question naming one thing (「死亡届は？」, 「解職はできますか」) leaves the rest to
    the earlier ones."""
    if _REFERS_BACK.search(unicodedata.normalize("NFKC", question)):
        return False
    subjects: list[tuple[str, ...]] = []
    analyzer.words(question, drop_stop_words=True, subjects=subjects)
    if len(subjects) < 2:
        return False
    named = {w for text in earlier for w in analyzer.words(text, drop_stop_words=True)}
    return not any(terms[0] in named for terms in subjects)
