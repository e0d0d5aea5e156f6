"""Conversations: where a turn is remembered, which questions continue one (in a thread, or
pointing back at it), and a follow-up made a standalone question (by the model, or offline
with the earlier questions' terms unless it starts a new topic)."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace

from bot.asker import MAX_QUESTION_CHARS, Asker
from knowledge.analysis import Analyzer
from knowledge.errors import UpstreamUnavailable
from knowledge.generation import carry_over_terms, rewrite_followup
from knowledge.llm import LLMClient, LLMUsage
from knowledge.retrieval import Retrieved

log = logging.getLogger(__name__)

# A question that points back at the conversation: a demonstrative (「その期限は」), a
# leading conjunction (「では転出は」) or only a case (「外国人の場合は？」).
_REFERS_BACK = re.compile(
    r"それ|その|そこ|そちら|これ|この|ここ|あれ|あの|同じ|上記|前述|先ほど|さっき|今の"
    r"|^(?:では|じゃあ|なら|だったら|あと|また|ちなみに|ほかに|他に|さらに)"
    r"|場合は[?？]?$"
)


# A pronoun standing for what is asked about (「それって何日以内？」, 「これの罰則は」), not part
# of a word (「それぞれ」, 「これから」, 「申請があれば」).
_PRONOUN = re.compile(r"(?<![ぁ-ゖ])(それ|これ|あれ)(?=って|は|の|を|が|について|に関して|[?？]|$)")


# A demonstrative before the noun it points with (「その期限は」, 「この制度の根拠は」), not one
# that makes a word of its own (「その他」, 「この度」, 「この間」, 「この先」, 「その頃」).
_POINTING = re.compile(r"(?<![ぁ-ゖ])(?:その|この|あの)(?![他度間先頃])[一-龥々ァ-ヶー]+")


# Someone's words the question quotes (「「その届けはいつまで？」と聞かれました」).
_QUOTED = re.compile(r"「[^」]*」|『[^』]*』")


def unresolved_pronoun(analyzer: Analyzer, question: str) -> str | None:
    """The pronoun a question asks about (「それ」), or the thing it points at (「その期限」),
    when nothing before it in the question names what it stands for (「転入届を出したいのです
    が、それはどこで」 names it): without an earlier turn to read it from, the question does not
    say what it is about. A question with lines under it points at them (「この条文の意味は」
    above a pasted provision)."""
    text = unicodedata.normalize("NFKC", question).strip()
    if "\n" in text:
        return None
    # What the question quotes is someone's words (「「あの件は」と聞かれたら」), not its own.
    unquoted = _QUOTED.sub(lambda quote: "_" * len(quote[0]), text)
    found = _PRONOUN.search(unquoted) or _POINTING.search(unquoted)
    if found is None or subjects_of(analyzer, text[: found.start()]):
        return None
    return found.group(found.lastindex or 0)


def points_back(question: str) -> bool:
    """Whether a question points back at the conversation (「その期限は」, 「では転出は」)."""
    return _REFERS_BACK.search(unicodedata.normalize("NFKC", question)) is not None


def follows_up(asker: Asker, question: str) -> bool:
    """Whether a question continues the conversation's earlier turns. In a thread it does;
    a direct message outside a thread is one long conversation, where staff ask one
    unrelated question after another, so only a question that points back continues it."""
    ref = asker.conversation
    if ref is not None and ref.thread_id:
        return True
    return points_back(question)


def thread_opening(asker: Asker, question: str) -> str:
    """The message that opened the asker's thread, read as a colleague would read it, when the
    question points back at it (「これの根拠となる法律は？」, 「その届出の期限は？」 under
    「来月から住民票の写しの交付手数料が変わるそうです」): the thread's earlier question. A
    question that does not point back is answered on its own words. As long as a question may
    be: a pasted notice's first ``MAX_QUESTION_CHARS`` characters say what it is about."""
    opening = asker.thread_opening.strip()
    if not opening or not points_back(question):
        return ""
    return opening[:MAX_QUESTION_CHARS]


def new_topic(analyzer: Analyzer, earlier: list[str], question: str) -> bool:
    """Whether a thread's question that does not point back is about something else than the
    earlier questions: it names two things or more, none of which they named (「生活保護の申請は
    誰ができますか」 after 「転入届は何日以内に出しますか」), so their words would only stand in
    its way. A question naming one thing (「死亡届は？」, 「解職はできますか」) leaves the rest to
    the earlier ones."""
    if points_back(question):
        return False
    # After questions asking only about 「それ」 (「それって何日以内？」, which the bot asked to
    # be named), a question naming things completes them.
    if earlier and all(unresolved_pronoun(analyzer, text) for text in earlier):
        return False
    subjects = subjects_of(analyzer, question)
    if len(subjects) < 2:
        return False
    named = {w for text in earlier for w in analyzer.words(text, drop_stop_words=True)}
    return not any(terms[0] in named for terms in subjects)


def subjects_of(analyzer: Analyzer, question: str) -> list[tuple[str, ...]]:
    """The things a question names: the terms of each of its common nouns."""
    subjects: list[tuple[str, ...]] = []
    analyzer.words(question, drop_stop_words=True, subjects=subjects)
    return subjects


def speaks_of(subjects: list[tuple[str, ...]], retrieved: Retrieved) -> bool:
    """Whether the best passage found for a follow-up speaks of each thing its question names
    (``subjects_of``; a word of each noun): 「避難所はどこですか」 searched with the words of
    earlier questions on moving house found 住民基本台帳法 articles that never mention a 避難所."""
    if not retrieved.hits:
        return False
    best = retrieved.hits[0].words
    return all(any(term in best for term in terms) for terms in subjects)


def conversation_key(asker: Asker) -> str | None:
    """The key a conversation's history is kept under: a thread, or a chat platform's direct
    conversation; ``None`` for a turn that keeps none (REST without a thread, the CLI)."""
    ref = asker.conversation
    if ref is None or not (ref.thread_id or ref.platform in ("slack", "teams", "logo")):
        return None
    return f"{asker.org_id or '-'}|{ref.key}"


def history_keys(asker: Asker) -> list[str]:
    """Where a turn is remembered: its conversation, and the thread that replies to its
    answer will form (``Asker.answer_thread``), whose first follow-up then continues it."""
    key, ref = conversation_key(asker), asker.conversation
    keys = [key] if key else []
    if ref is not None and asker.answer_thread:
        keys.append(f"{asker.org_id or '-'}|{replace(ref, thread_id=asker.answer_thread).key}")
    return keys


async def standalone(
    llm: LLMClient | None, analyzer: Analyzer, question: str, history: list[tuple[str, str]]
) -> tuple[str, LLMUsage | None]:
    """The question made self-contained using the thread's earlier turns, and what a model
    call for it was billed."""
    if not history:
        return question, None
    billed = None
    if llm is not None:
        try:
            return await rewrite_followup(llm, history, question)
        except UpstreamUnavailable as exc:
            log.warning("llm unavailable for follow-up rewrite: %s", exc.detail)
            billed = exc.billed
    earlier = [q for q, _ in history][-2:]  # the turns carry_over_terms reads
    if new_topic(analyzer, earlier, question):
        return question, billed
    terms = carry_over_terms(
        earlier, question, lambda text: analyzer.words(text, drop_stop_words=True)
    )
    return terms, billed
