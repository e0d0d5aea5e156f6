"""Messages that ask the bot to write rather than to find: to draft (「住民向けのお知らせ文を作成
してください」, 「答弁案を考えて」), rewrite (「次の文章を敬語に直して」), translate or proofread.

Baibain answers from documents and summarizes them; it writes no text of its own. Searched,
such a message quotes statutes that share a word with it (選挙公報の「掲載文」 for お知らせ文,
罰則の「答弁」 for 答弁案), which reads as a broken bot. The reply says what it does instead.
Only the message's first line is read (a pasted text under it is what is to be rewritten),
and only a request that ends the line: 「答弁書を作成する期限は？」 is a question.
"""

from __future__ import annotations

import re
import unicodedata

from bot.smalltalk import WHAT_I_DO

# What is written: a text, a kind of text, or the language or style it is to be put in.
_TEXT = (
    r"(?:文|文章|文面|文案|案|メール|お知らせ|あいさつ|挨拶|答弁|原稿|コピー|表現|返信|返事|回答"
    r"|記事|投稿|タイトル|見出し|スピーチ|手紙|礼状|通知|案内|広報|英語|英文|中国語|韓国語"
    r"|敬語|丁寧語|やさしい日本語|日本語|ですます調|である調|箇条書き)"
)
# Asking for it to be written: a verb in its て form with a polite ending or none
# (「作成してください」, 「考えて」, 「直してもらえますか」), or the noun and a request
# (「下書きをお願いします」).
_VERB = (
    r"(?:作成し|作っ|書い|考え|直し|書き直し|添削し|校正し|推敲し|リライトし|整え|清書し|起案し"
    r"|言い換え|下書きし|作文し|翻訳し|訳し)て"
    r"(?:ください|下さい|くれ|くれる|ほしい|欲しい|ほしいです|欲しいです|もらえますか|もらえませんか"
    r"|くれますか|くれませんか|いただけますか|いただけませんか|ちょうだい|みて|みてください)?"
)
_NOUN = (
    r"(?:作成|添削|校正|推敲|リライト|清書|起案|下書き|翻訳|英訳)を?"
    r"(?:お願いします|お願いいたします|お願い|お願いできますか|お願いできませんか|頼みます)"
)
_WRITING = re.compile(rf"{_TEXT}[^。？?]{{0,20}}?(?:を|に|へ|で|の)?(?:{_VERB}|{_NOUN})")
_END = re.compile(r"[\s。．.！!?]*$")

WRITING_REPLY = (
    "申し訳ありません。文章の作成・書き直し・翻訳には対応していません。"
    + WHAT_I_DO
    + "文書の要約もできます（「次の文章を要約してください」に続けて文章を貼り付けるか、"
    "資料のファイルを添付して「要約して」と送ってください）。参考になる法令や資料を探すときは、"
    "「お知らせの根拠となる法令は？」のようにお尋ねください。"
)


def asks_to_write(message: str) -> bool:
    """Whether a message's first line asks for a text to be written, rewritten or translated
    (and nothing else: the request ends the line, or what comes before a colon and the text)."""
    first = unicodedata.normalize("NFKC", message).strip().split("\n", 1)[0]
    for line in (first, first.split(":", 1)[0]):  # NFKC: 「：」 is 「:」
        line = _END.sub("", line)
        found = _WRITING.search(line)
        if found is not None and found.end() == len(line):
            return True
    return False
