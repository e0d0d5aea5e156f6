from __future__ import annotations

from knowledge.analysis import Analyzer, char_bigrams, normalize, sentence_topics, split_sentences


def test_normalize_folds_width_and_case() -> None:
    assert normalize("ＡＢＣ１２３　ｶﾀｶﾅ") == "abc123 カタカナ"


def test_spelling_variants_share_one_term() -> None:
    analyzer = Analyzer()
    assert analyzer.words("附属機関") == analyzer.words("付属機関")


def test_kanji_numerals_become_digits() -> None:
    assert "242" in Analyzer().words("第二百四十二条")


def test_particles_dropped_and_question_boilerplate_only_for_queries() -> None:
    analyzer = Analyzer()
    doc_terms = analyzer.words("住民監査請求をすることができるのは誰ですか")
    query_terms = analyzer.words("住民監査請求をすることができるのは誰ですか", drop_stop_words=True)
    assert "を" not in doc_terms and "か" not in doc_terms
    assert query_terms == ["住民", "監査", "請求"]
    assert set(query_terms) < set(doc_terms)


def test_compounds_also_yield_their_parts() -> None:
    terms = Analyzer().words("選挙管理委員会")
    assert {"選挙管理委員会", "選挙", "管理"} <= set(terms)


def test_a_deputys_title_is_one_term_without_the_title_alone() -> None:
    # 副市長 is one dictionary word, 副市町村長 the prefix 副 and 市町村長: neither is the mayor.
    analyzer = Analyzer()
    assert analyzer.words("副市長") == ["副市長"]
    assert analyzer.words("副市町村長の任期") == ["副市町村長", "任期"]
    assert analyzer.words("副委員長") == ["副委員長", "委員"]


def test_words_outside_the_dictionary_keep_their_own_terms() -> None:
    # Sudachi gives every unknown number (and every unknown word of one part of speech) the
    # same word id: the terms must still be the words themselves, however often seen.
    analyzer = Analyzer()
    for _ in range(2):
        terms = analyzer.words("予算は123円、決算は456円。xyz社とqwv社")
        assert {"123", "456", "xyz", "qwv"} <= set(t.lower() for t in terms)


def test_dictionary_words_with_spaces_become_one_term_per_part() -> None:
    # Documents and questions must agree, and the stores keep terms space-joined.
    terms = Analyzer().words("World Wide Webの歴史")
    assert "Web" in terms and not any(" " in t for t in terms)


def test_long_text_is_accepted() -> None:
    text = "地方公共団体の事務を処理する。" * 2000
    assert len(Analyzer().words(text)) > 1000


def test_bigrams_do_not_cross_punctuation() -> None:
    assert char_bigrams("住民、監査") == ["住民", "監査"]


def test_sentences_split_on_japanese_full_stops_and_lines() -> None:
    assert split_sentences("第一文。第二文！\n第三文") == ["第一文。", "第二文！", "第三文"]


def test_japanese_era_years_also_read_as_western_years() -> None:
    assert normalize("令和8年度予算") == "令和8年 2026年度予算"
    assert normalize("令和元年5月") == "令和元年 2019年5月"
    assert normalize("平成三十一年") == "平成三十一年 2019年"
    assert normalize("平成32年") == "平成32年"  # no such year: left alone
    assert normalize("Ｒ６年度予算") == "r6年 2024年度予算"
    assert normalize("H31年") == "h31年 2019年"
    assert normalize("ISR6年") == "isr6年"  # not an era initial
    analyzer = Analyzer()
    assert {"2026", "年度"} <= set(analyzer.words("令和8年度の予算"))
    assert set(analyzer.words("2026年度の予算")) <= set(analyzer.words("令和8年度の予算"))
    assert {"2026", "年度"} <= set(analyzer.words("R8年度の予算"))


def test_the_topic_of_a_sentence_is_what_comes_before_its_first_wa() -> None:
    text = (
        "出生の届出は、十四日以内にこれをしなければならない。\n"
        "届書には、次の事項を記載する。\n前項の場合において、市町村長が定める。"
    )
    assert sentence_topics(text) == ["出生の届出", "届書に"]


def test_the_old_spelling_of_the_small_tsu_reads_as_the_modern_one() -> None:
    # Statutes before 1988 write 「知つた」 for 「知った」; Sudachi reads the old form as 知 and 蔦.
    analyzer = Analyzer()
    old, modern = "処分があつたことを知つた日から", "処分があったことを知った日から"
    assert analyzer.words(old) == analyzer.words(modern)
    assert "知る" in analyzer.words(old)
    # 「かつて」 (formerly) is a word of its own; 「向かつて」 is a verb.
    assert normalize("かつて採用された") == "かつて採用された"
    assert normalize("将来に向かつて") == "将来に向かって"


def test_a_title_with_the_honorific_san_is_still_the_title() -> None:
    analyzer = Analyzer()
    assert "保健師" in analyzer.words("保健師さんは何人必要ですか", drop_stop_words=True)
    assert "奥さん" in analyzer.words("奥さんの扶養")  # a word of its own, kept whole
