"""Kanji numerals and article references, checked against real e-Gov article titles too."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.numerals import (
    ArticleRef,
    article_label,
    find_article_refs,
    int_to_kanji,
    kanji_to_int,
    normalize_article_ref,
)
from knowledge.parsing import parse_file

EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("二百四十二", 242),
        ("〇", 0),
        ("十", 10),
        ("十一", 11),
        ("百", 100),
        ("千", 1000),
        ("千二百三十四", 1234),
        ("一万", 10000),
        ("万", 10000),
        ("三万五千", 35000),
        ("1万2千", 12000),
        ("二〇二六", 2026),
        ("１２", 12),
        ("1,234", 1234),
        ("百万", 1_000_000),
        ("一億二千万", 120_000_000),
    ],
)
def test_kanji_to_int(text: str, value: int) -> None:
    assert kanji_to_int(text) == value


@pytest.mark.parametrize("text", ["", "条", "abc", "二百x"])
def test_kanji_to_int_refuses_non_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        kanji_to_int(text)


def test_int_to_kanji_round_trips() -> None:
    assert int_to_kanji(242) == "二百四十二"
    assert int_to_kanji(10) == "十"
    assert int_to_kanji(1100) == "千百"
    assert int_to_kanji(20000) == "二万"
    for number in range(0, 3000):
        assert kanji_to_int(int_to_kanji(number)) == number


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("第二百四十二条の二", "242-2"),
        ("242条の2", "242-2"),
        ("第242条の2", "242-2"),
        ("第２４２条の２", "242-2"),
        ("第十条", "10"),
        ("第一条", "1"),
        ("第十条の二の三", "10-2-3"),
        (" 第二百四十二条第一項 ", "242"),
    ],
)
def test_normalize_article_ref(text: str, key: str) -> None:
    assert normalize_article_ref(text) == key


@pytest.mark.parametrize("text", ["第一項", "地方自治法", "条件", "", "第二百四十二条の規定"])
def test_normalize_article_ref_rejects_other_text(text: str) -> None:
    assert normalize_article_ref(text) is None


def test_find_article_refs_in_a_sentence() -> None:
    text = "地方自治法第二百四十二条第一項の規定により"
    [ref] = find_article_refs(text)
    assert ref == ArticleRef(article="242", paragraph=1, item=None, span=(5, 15))
    assert text[ref.span[0] : ref.span[1]] == "第二百四十二条第一項"


def test_find_article_refs_with_branch_paragraph_and_item() -> None:
    text = "同法第２４２条の２第１項第三号及び第十条の規定並びに同条第二項"
    refs = find_article_refs(text)
    assert [(r.article, r.paragraph, r.item) for r in refs] == [("242-2", 1, 3), ("10", None, None)]
    assert text[refs[0].span[0] : refs[0].span[1]] == "第２４２条の２第１項第三号"


def test_find_article_refs_ignores_words_with_jou() -> None:
    assert find_article_refs("この条件と条例の条文について") == []


def test_article_label() -> None:
    assert article_label("242-2") == "第二百四十二条の二"
    assert article_label("10") == "第十条"
    assert article_label("1") == "第一条"
    with pytest.raises(ValueError):
        article_label("第十条")


@pytest.mark.parametrize("path", sorted(EGOV.glob("*.xml")), ids=lambda p: p.name[:15])
def test_keys_and_labels_match_real_egov_article_titles(path: Path) -> None:
    [parsed] = parse_file(path.name, path.read_bytes())
    main_articles = [s for s in parsed.sections if "article" in s.extra and "suppl" not in s.extra]
    assert main_articles
    for section in main_articles:
        key = section.extra["article"]
        assert article_label(key) == section.position
        assert normalize_article_ref(section.position) == key
