"""The ``baibain`` CLI, run in-process with its environment (real index, real database)."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from admin.audit_models import RECORD
from admin.db import create_db_engine
from admin.orgs import authenticate_api_key
from bot.cli import app
from bot.cli_common import JapaneseUsageGroup

SAMPLE_QUESTION = "引っ越したら何日以内に届け出ますか"


def test_ask_json_in_an_empty_data_dir_loads_the_sample_and_cites(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ask", SAMPLE_QUESTION, "--json"], env={"BAIBAIN_DATA_DIR": str(tmp_path / "new")}
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert "住民基本台帳法 第二十三条" in [c["title"] for c in body["citations"]]
    assert set(body) >= {"answer", "citations", "usage", "turn_id"}


def sample_asker(tmp_path: Path) -> Callable[[str], dict[str, Any]]:
    """``ask(question)``: the JSON answer of ``baibain ask`` over the sample, in a new data dir."""
    env = {"BAIBAIN_DATA_DIR": str(tmp_path / "new")}

    def ask(question: str) -> dict[str, Any]:
        result = CliRunner().invoke(app, ["ask", question, "--json"], env=env)
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))

    return ask


def test_a_question_on_a_law_the_sample_lacks_says_so(tmp_path: Path) -> None:
    ask = sample_asker(tmp_path)

    # The sample holds 42 laws, not DV防止法: no other law's article is quoted as the answer.
    absent = ask("DV防止法の保護命令とは何ですか")
    assert absent["outcome"] == "not_found" and absent["citations"] == []
    assert absent["answer"].startswith(
        "お尋ねの「配偶者からの暴力の防止及び被害者の保護等に関する法律」は、"
        "検索できる資料に含まれていません。"
    )
    # Articles of the sample that cite 地方税法 (地税法) may answer, under a notice.
    cited = ask("地税法で特別区が課する税は")
    assert cited["answer"].startswith("※お尋ねの「地方税法」の本文は")
    assert cited["citations"]
    # A question on the subject of laws the sample lacks (児童手当法, 児童扶養手当法) is told so.
    subject = ask("児童扶養手当と児童手当の違いを教えて")
    assert subject["answer"].startswith(
        "※「児童扶養手当法」、「児童手当法」は検索できる資料に含まれていないため、"
    )
    assert "検索できる資料" not in ask("国民健康保険料を滞納するとどうなりますか")["answer"]
    # A subject whose act the title does not say is known from the subjects table: 固定資産税
    # is 地方税法's, not the subject of 地方交付税法's articles that mention it.
    tax = ask("固定資産税の納期はいつですか")["answer"]
    assert tax.startswith("※「地方税法」は検索できる資料に含まれていないため、")
    assert "検索できる資料" not in ask("転入届はいつまでに出しますか")["answer"]


def test_an_article_named_without_its_law_is_asked_which_law(tmp_path: Path) -> None:
    ask = sample_asker(tmp_path)

    # Every statute of the sample has a 第5条: none of them is quoted as the answer.
    for question, typed in (("242条", "242条"), ("第５条を見せて", "第5条")):
        unnamed = ask(question)
        assert unnamed["answer"].startswith(f"どの法令の「{typed}」かが分かりませんでした。")
        assert unnamed["outcome"] == "unclear" and unnamed["citations"] == []
    named = ask("自治法242条")
    assert named["outcome"] == "answered"
    assert named["citations"][0]["title"] == "地方自治法 第二百四十二条"


def test_a_question_in_hiragana_only_is_told_to_use_kanji(tmp_path: Path) -> None:
    answer = sample_asker(tmp_path)

    def ask(question: str) -> str:
        return str(answer(question)["answer"])

    # Sudachi reads 「じゅうみんひょう」 as じゅう, 見る and ひょう: the passages found hardly
    # speak of 住民票, and the asker is told how to be found better.
    kana = ("じゅうみんひょうのうつしはだれがせいきゅうできますか", "てんにゅうとどけのきげん")
    for question in kana:
        assert ask(question).startswith("※ひらがなだけの質問は"), question
    # A word the dictionary knows in kana, or a question with kanji, is read as it is.
    assert "ひらがなだけ" not in ask("ごみ")
    assert "ひらがなだけ" not in ask("住民票のうつしは誰がせいきゅうできますか")


def test_sample_can_be_disabled(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["ask", SAMPLE_QUESTION, "--json"],
        env={"BAIBAIN_DATA_DIR": str(tmp_path / "new"), "BAIBAIN_SAMPLE_DATA": "0"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "not_found"


def test_plain_ask_prints_answer_sources_and_footer(run) -> None:
    result = run("ask", SAMPLE_QUESTION)
    assert result.exit_code == 0, result.output
    assert "出典:" in result.stdout and "[1] 住民基本台帳法" in result.stdout
    assert "原文を確認" in result.stdout


def test_ask_summarizes_a_pasted_notice_as_chat_does(run) -> None:
    notice = (
        "令和8年4月1日から、住民票の写し等の交付手数料を改定します。改定後の手数料は、"
        "住民票の写し1通につき350円となります。問い合わせ先は市民課です。"
    )
    result = run("ask", f"次の文章を要約してください\n{notice}")
    assert result.exit_code == 0, result.output
    assert "「貼り付けられた文章」の要約です" in result.stdout and "350円" in result.stdout


def test_search_json_lists_ranked_hits(run) -> None:
    result = run("search", "普通地方公共団体の議会の議員の任期", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert any(h["title"] == "地方自治法 第九十三条" for h in hits)


def test_an_everyday_word_no_statute_has_is_searched_as_its_statutory_words(run) -> None:
    # No article says 引っ越し; 転入, what the thesaurus gives for it, weighs as much as the
    # words typed, so the article on moving in beats those that share 何日以内 and 届け出.
    question = "よその市から引っ越してきたら、何日以内に届け出ればいいですか"
    result = run("search", question, "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["title"] == "住民基本台帳法 第二十二条"


def test_empty_question_is_refused_with_a_message(run) -> None:
    result = run("ask", "   ")
    assert result.exit_code == 2
    assert "質問を入力してください" in result.output


def test_org_and_api_key_lifecycle(run, data_dir: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    duplicate = run("org", "create", "横浜市")
    assert duplicate.exit_code == 2 and "すでに存在します" in duplicate.output
    two_lines = run("org", "create", "川崎市\n中原区")  # would break org list's lines
    assert two_lines.exit_code == 2 and "改行を含まない" in two_lines.output
    nothing = run("summarize", "")  # not the current folder
    assert nothing.exit_code == 2 and "いずれかを指定してください" in nothing.output
    created = run("apikey", "create", "--org", "横浜市")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    assert authenticate_api_key(engine, key).org.name == "横浜市"
    key_id = key.split("_")[1]
    assert run("apikey", "revoke", key_id).exit_code == 0
    from knowledge.errors import Unauthorized

    with pytest.raises(Unauthorized):
        authenticate_api_key(engine, key)
    engine.dispose()
    assert run("apikey", "create", "--org", "存在しない市").exit_code == 2
    # Every administrative command is in the audit log, never the key itself.
    assert run("org", "link", "横浜市", "slack", "T0TEST").exit_code == 0
    assert run("quota", "set", "横浜市", "500000").exit_code == 0
    exported = run("audit", "export", "--org", "横浜市")
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    actions = [r["payload"]["action"] for r in rows if r["kind"] == "admin"]
    assert actions[:5] == ["org.create", "apikey.create", "apikey.revoke", "org.link", "quota.set"]
    assert key not in exported.stdout


def ingested_args(corpus: Path) -> tuple[str, ...]:
    return ("ingest", str(corpus), "--dataset", "例規", "--org", "テスト市")


def test_ingest_keeps_organization_data_to_its_owner(run, tmp_path: Path) -> None:
    corpus = tmp_path / "reiki.jsonl"
    rows = [
        {
            "id": "r1",
            "title": "テスト市 ごみ出し規則",
            "text": "粗大ごみは毎月第二水曜日に収集する。",
        }
    ]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    for name in ("テスト市", "よその市"):
        assert run("org", "create", name).exit_code == 0
    ingested = run(*ingested_args(corpus), "--category", "条例・規則・例規")
    assert ingested.exit_code == 0, ingested.output
    assert "データセット「例規」（条例・規則・例規・組織内のみ）を作成しました" in ingested.stdout
    again = run(*ingested_args(corpus))
    assert "変更なし 1 件" in again.stdout and "作成しました" not in again.stdout
    # The same text under a corrected title is a change: its citations show the new title.
    retitled = {**rows[0], "title": "テスト市 ごみの出し方規則"}
    corpus.write_text(json.dumps(retitled, ensure_ascii=False), "utf-8")
    renamed = run(*ingested_args(corpus))
    assert "1 件の文書を取り込みました（変更なし 0 件）" in renamed.stdout, renamed.stdout
    asked = run("ask", "粗大ごみの収集日はいつですか", "--org", "テスト市", "--json")
    assert json.loads(asked.stdout)["citations"][0]["title"] == "テスト市 ごみの出し方規則"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert "1 件の文書を取り込みました" in run(*ingested_args(corpus)).stdout
    # Options that only a new dataset takes are said to be left alone, not silently dropped.
    recategorized = run(*ingested_args(corpus), "--category", "計画")
    assert "分類は「条例・規則・例規」のままです" in recategorized.stdout
    question = "粗大ごみの収集日はいつですか"
    mine = json.loads(run("ask", question, "--org", "テスト市", "--json").stdout)
    assert [c["title"] for c in mine["citations"]][:1] == ["テスト市 ごみ出し規則"]
    for other in (("--org", "よその市"), ()):
        theirs = json.loads(run("ask", question, *other, "--json").stdout)
        assert "テスト市 ごみ出し規則" not in [c["title"] for c in theirs["citations"]]
    shared = run(*ingested_args(corpus), "--shareable")
    assert "データセット「例規」を全参加団体との共有に切り替えました" in shared.stdout
    # Another organization sees whose it is.
    assert "例規（条例・規則・例規・全参加団体と共有・テスト市・1件）" in (
        run("dataset", "list", "--org", "よその市").output
    )


def test_dataset_list_and_delete(run, tmp_path: Path) -> None:
    folder = tmp_path / "reiki"
    folder.mkdir()
    rule = folder / "ごみ出し規則.txt"
    rule.write_text("テスト市ごみ出し規則\n粗大ごみは毎月第二水曜日に収集する。", "utf-8")
    (folder / "下書き.txt").write_text("下書き\n未定稿。", "utf-8")
    for name in ("テスト市", "よその市"):
        assert run("org", "create", name).exit_code == 0
    ingest = ("ingest", str(folder), "--dataset", "例規", "--org", "テスト市")
    assert run(*ingest, "--category", "条例・規則・例規").exit_code == 0
    listed = run("dataset", "list", "--org", "テスト市")
    line = next(x for x in listed.output.splitlines() if "例規" in x)
    assert "組織内のみ・2件" in line
    dataset_id = line[1 : line.index("]")]
    assert "例規" not in run("dataset", "list", "--org", "よその市").output
    refused = run("dataset", "delete", dataset_id, "--org", "よその市")
    assert refused.exit_code == 2 and "見つかりません" in refused.output

    def cited() -> list[str]:
        asked = run("ask", "粗大ごみの収集日はいつですか", "--org", "テスト市", "--json")
        return [c["title"] for c in json.loads(asked.stdout)["citations"]]

    assert cited()[:1] == ["テスト市ごみ出し規則"]  # its opening line
    shown = run("dataset", "show", dataset_id, "--org", "テスト市").output
    assert f"・下書き（文書ID: ds{dataset_id}/reiki/下書き.txt）" in shown
    draft = ("dataset", "delete", dataset_id, "--org", "テスト市", "--document")
    one = run(*draft, "下書き.txt")  # the file's name will do, as for summaries
    assert one.exit_code == 0 and "文書「下書き」を削除しました" in one.output, one.output
    assert "組織内のみ・1件" in run("dataset", "list", "--org", "テスト市").output
    gone = run(*draft, f"ds{dataset_id}/reiki/下書き.txt")
    assert gone.exit_code == 2, gone.output
    # Where to look, with this dataset's number filled in, as the other messages give it.
    assert f"baibain dataset show {dataset_id} --org 組織名" in gone.output
    for blank in ("", "  "):  # a script's empty variable deletes nothing, least the dataset
        empty = run(*draft, blank)
        assert empty.exit_code == 2 and "何も削除していません" in empty.output
    assert "組織内のみ・1件" in run("dataset", "list", "--org", "テスト市").output
    deleted = run("dataset", "delete", dataset_id, "--org", "テスト市")
    assert deleted.exit_code == 0
    assert "データセット「例規」と文書 1 件を削除しました" in deleted.output
    assert "ごみ出し規則" not in cited()
    assert "例規" not in run("dataset", "list", "--org", "テスト市").output
    exported = run("audit", "export", "--org", "テスト市").output
    assert '"dataset.delete"' in exported and '"document.delete"' in exported


def test_corpora_of_two_organizations_may_use_the_same_row_ids(run, tmp_path: Path) -> None:
    # A row id is the corpus's own: it can never name another dataset's document.
    question = "粗大ごみの収集日はいつですか"
    for org, day in (("テスト市", "第二水曜日"), ("よその市", "第四金曜日")):
        corpus = tmp_path / f"{org}.jsonl"
        row = {
            "id": "r1",
            "title": f"{org} ごみ出し規則",
            "text": f"粗大ごみは毎月{day}に収集する。",
        }
        corpus.write_text(json.dumps(row, ensure_ascii=False), "utf-8")
        assert run("org", "create", org).exit_code == 0
        ingest = ("ingest", str(corpus), "--dataset", "例規", "--org", org)
        ingested = run(*ingest, "--category", "条例・規則・例規")
        assert ingested.exit_code == 0, ingested.output
    for org, day in (("テスト市", "第二水曜日"), ("よその市", "第四金曜日")):
        answer = json.loads(run("ask", question, "--org", org, "--json").stdout)
        assert answer["citations"][0]["title"] == f"{org} ごみ出し規則"
        assert day in answer["answer"]


def test_ingest_reads_every_file_before_writing_any(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reiki"
    folder.mkdir()
    rule = folder / "ごみ出し規則.txt"
    rule.write_text("テスト市ごみ出し規則\n粗大ごみは毎月第二水曜日に収集する。", "utf-8")
    (folder / "壊れた.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "壊れた.docx").write_bytes(b"not a zip")
    assert run("org", "create", "テスト市").exit_code == 0
    ingest = ("ingest", str(folder), "--dataset", "例規", "--org", "テスト市")
    refused = run(*ingest, "--category", "条例・規則・例規")
    assert refused.exit_code == 2
    assert "2 件のファイルを読み込めなかったため、何も取り込んでいません" in refused.output
    assert "壊れた.pdf" in refused.output and "壊れた.docx" in refused.output

    def cited() -> list[str]:
        asked = run("ask", "粗大ごみの収集日はいつですか", "--org", "テスト市", "--json")
        return [c["title"] for c in json.loads(asked.stdout)["citations"]]

    assert "ごみ出し規則" not in " ".join(cited())
    # Nor is the dataset left behind: it is still new, and wants its category.
    assert "--category" in run(*ingest).output
    for broken in folder.glob("壊れた.*"):
        broken.unlink()
    # A picture in the folder is left out and named, as in a ZIP archive; named alone, refused.
    (folder / "収集カレンダー.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    done = run(*ingest, "--category", "条例・規則・例規")
    assert done.exit_code == 0, done.output
    assert (
        "対応していない形式のため取り込まなかったファイル: reiki/収集カレンダー.png" in done.output
    )
    assert "ごみ出し規則" in cited()[0]
    # The same folder named from inside it is the same files, not new ones.
    monkeypatch.chdir(folder)
    again = run("ingest", ".", "--dataset", "例規", "--org", "テスト市")
    assert "0 件の文書を取り込みました（変更なし 1 件）" in again.output, again.output
    alone = run(
        "ingest", str(folder / "収集カレンダー.png"), "--dataset", "例規", "--org", "テスト市"
    )
    assert alone.exit_code == 2 and "対応していない形式" in alone.output


def test_a_file_name_of_another_encoding_is_named_and_nothing_is_written(
    run, tmp_path: Path
) -> None:
    # A zip made on Windows and unpacked here: the name is Shift_JIS bytes, not UTF-8.
    folder = tmp_path / "reiki"
    folder.mkdir()
    (Path(os.fsdecode(bytes(folder))) / os.fsdecode(b"\x82\xa0.txt")).write_text("規則。", "utf-8")
    assert run("org", "create", "テスト市").exit_code == 0
    ingest = ("ingest", str(folder), "--dataset", "例規", "--org", "テスト市")
    refused = run(*ingest, "--category", "条例・規則・例規")
    assert refused.exit_code == 2 and "ファイル名に読み取れない文字" in refused.output
    assert "--category" in run(*ingest).output  # the new dataset was not left behind


def test_eval_prints_metrics_and_names_bad_lines(run, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    docs = [
        {
            "id": "d1",
            "title": "火災",
            "text": "火災を発見した者は、遅滞なく消防署に通報しなければならない。",
        },
        {"id": "d2", "title": "避難", "text": "市町村長は、指定避難所を指定しなければならない。"},
    ]
    corpus.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
    rows = [
        {
            "id": "q1",
            "question": "火災を見つけたら誰に知らせる",
            "answers": ["消防署"],
            "gold_ids": ["d1"],
        },
        {"id": "q2", "question": "避難所は誰が指定する", "answers": [], "gold_ids": ["d2"]},
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    result = run("eval", "--corpus", str(corpus), "--queries", str(queries), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n_queries"] == 2 and metrics["recall@1"] == 1.0 and metrics["mrr@10"] == 1.0
    assert metrics["answer_hit_rate"] == 1.0
    assert {"recall@5", "recall@10", "ndcg@10", "p50_ms", "p95_ms"} <= set(metrics)

    queries.write_text(queries.read_text("utf-8") + "\n{broken", "utf-8")
    broken = run("eval", "--corpus", str(corpus), "--queries", str(queries))
    assert broken.exit_code == 2 and "3 行目" in broken.output
    queries.write_text(json.dumps({"id": "q", "question": "x", "gold_ids": ["nope"]}), "utf-8")
    unknown = run("eval", "--corpus", str(corpus), "--queries", str(queries))
    assert unknown.exit_code == 2 and "nope" in unknown.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", "utf-8")
    nothing = run("eval", "--corpus", str(empty), "--queries", str(queries))
    assert nothing.exit_code == 2 and "文書がありません" in nothing.output
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_bytes(json.dumps(docs[0], ensure_ascii=False).encode("shift_jis"))
    sjis = run("eval", "--corpus", str(legacy), "--queries", str(queries))
    assert sjis.exit_code == 2 and "UTF-8" in sjis.output and "legacy.jsonl" in sjis.output
    # As Windows editors save them: a BOM, numeric ids, one answer as a plain string.
    windows = tmp_path / "windows.jsonl"
    numbered = [{**docs[0], "id": 1}, {**docs[1], "id": 2}]
    lines = "\n".join(json.dumps(d, ensure_ascii=False) for d in numbered)
    windows.write_bytes(lines.encode("utf-8-sig"))
    one = {"id": "q1", "question": rows[0]["question"], "answers": "消防本部", "gold_ids": [1]}
    queries.write_text(json.dumps(one, ensure_ascii=False), "utf-8")
    read = run("eval", "--corpus", str(windows), "--queries", str(queries), "--json")
    assert read.exit_code == 0, read.output
    scored = json.loads(read.stdout.strip().splitlines()[-1])
    assert scored["recall@1"] == 1.0 and scored["answer_hit_rate"] == 0.0  # not 消 of 消防署
    queries.write_text(json.dumps({**one, "choices": 5}, ensure_ascii=False), "utf-8")
    bad_choices = run("eval", "--corpus", str(windows), "--queries", str(queries))
    assert bad_choices.exit_code == 2 and "choices" in bad_choices.output


def test_index_embed_without_an_embeddings_endpoint_says_what_to_set(run) -> None:
    assert run("search", "住民監査請求").exit_code == 0  # the index exists
    result = run("index", "embed")
    assert result.exit_code == 2
    assert "BAIBAIN_EMBEDDING_BASE_URL" in result.output


def test_a_question_answered_only_in_parts_lists_possibly_related_documents(
    tmp_path: Path,
) -> None:
    # Each passage holds one part of the question (開示請求, 手数料, 郵便) and none the whole.
    corpus = tmp_path / "rules.jsonl"
    texts = [
        "開示請求は、書面でしなければならない。",
        "手数料は、条例で定める。",
        "郵便物は、翌日に配達する。",
        "避難所は、市町村長が指定する。",
    ]
    rows = [{"id": f"r{n}", "title": f"規則{n}", "text": t} for n, t in enumerate(texts)]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    run = CliRunner().invoke
    env = {"BAIBAIN_DATA_DIR": str(tmp_path / "var"), "BAIBAIN_SAMPLE_DATA": "0"}
    assert run(app, ["org", "create", "テスト市"], env=env).exit_code == 0
    ingest = [
        "ingest",
        str(corpus),
        "--dataset",
        "規則集",
        "--org",
        "テスト市",
        "--category",
        "条例・規則・例規",
    ]
    assert run(app, ingest, env=env).exit_code == 0

    def ask(question: str, *more: str) -> str:
        return run(app, ["ask", question, "--org", "テスト市", *more], env=env).stdout

    partly = json.loads(ask("開示請求の手数料は郵便で払えますか", "--json"))
    assert partly["outcome"] == "not_found"
    assert partly["answer"].startswith("質問に直接答える箇所は見つかりませんでした")
    assert partly["citations_heading"] == "関連する可能性のある資料"
    assert {"規則0", "規則1"} <= {c["title"] for c in partly["citations"]}
    assert partly["footer"] == ""  # nothing was written or quoted
    shown = ask("開示請求の手数料は郵便で払えますか")
    assert "関連する可能性のある資料:" in shown and "※この回答はAI" not in shown
    # Each related document with where it is, and no empty brackets.
    assert re.search(r"^\[\d\] 規則\d（[^）]*規則集[^）]*）$", shown, re.M), shown
    unrelated = json.loads(ask("今日の天気はどうですか", "--json"))
    assert unrelated["answer"].startswith("該当する資料が見つかりませんでした")
    assert unrelated["citations"] == []


def test_a_broken_audit_key_stops_an_admin_command_before_it_changes_anything(run) -> None:
    broken = run("org", "create", "横浜市", BAIBAIN_AUDIT_KEY="not a key")
    assert broken.exit_code != 0 and "エラー" in broken.output
    assert run("quota", "show", "横浜市").exit_code == 2  # no such organization
    # A record that cannot be written: tests/bot/test_audited_changes.py.


def test_a_misconfigured_variable_is_named_with_what_it_should_hold(run) -> None:
    result = run("ask", SAMPLE_QUESTION, BAIBAIN_LLM_TIMEOUT_S="30秒", BAIBAIN_INDEX="elastic")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "BAIBAIN_LLM_TIMEOUT_S: 数値を指定してください" in result.output
    assert "BAIBAIN_INDEX: 'embedded'・'weaviate' のいずれかを指定してください" in result.output
    prices = run("quota", "show", "横浜市", BAIBAIN_MODEL_PRICES="{gpt: 1}")
    assert (
        prices.exit_code == 2 and "BAIBAIN_MODEL_PRICES: JSON で指定してください" in prices.output
    )
    negative = run("quota", "show", "横浜市", BAIBAIN_MODEL_PRICES='{"gpt": [-0.02, 0.09]}')
    assert negative.exit_code == 2 and "0 以上の数値で指定してください" in negative.output
    endless = run("quota", "show", "横浜市", BAIBAIN_LLM_TIMEOUT_S="inf")
    assert endless.exit_code == 2
    assert "BAIBAIN_LLM_TIMEOUT_S: 有限の数値を指定してください" in endless.output
    networks = run("ask", SAMPLE_QUESTION, BAIBAIN_FETCH_ALLOWED_NETWORKS="10.0.0.0/33")
    assert "「10.0.0.0/33」はネットワークとして読めません" in networks.output
    # Weaviate's REST and gRPC need two ports; one for both is named before anything starts.
    weaviate = {"BAIBAIN_WEAVIATE_URL": "http://weaviate.local:50051"}
    one_port = run("org", "list", BAIBAIN_INDEX="weaviate", **weaviate)
    assert one_port.exit_code == 2
    assert "同じポート（50051）です" in one_port.output
    apart = run("org", "list", BAIBAIN_WEAVIATE_GRPC_HOST="grpc.weaviate.local", **weaviate)
    assert "同じポート" not in apart.output
    # A key cut short when pasted: named before any command runs, never shown.
    cut = "q9Kf3xZ0bX1vY2w3Q4e5R6t7Y8u9I0o="
    for command in (("org", "list"), ("audit", "verify")):
        key = run(*command, BAIBAIN_AUDIT_KEY=cut)
        assert key.exit_code == 2 and cut not in key.output
        assert "BAIBAIN_AUDIT_KEY: base64 で書いた 32 バイトの鍵を指定してください" in key.output


def test_usage_errors_are_explained_in_japanese(run) -> None:
    cases = [
        (("eval",), "--corpus（コーパス JSONL）を指定してください", "baibain eval"),
        (("search", "副市長", "--kk", "3"), "--kk というオプションはありません", "baibain search"),
        (
            ("search", "副市長", "--k", "多"),
            "--k（件数）には 1〜100 の整数を指定してください",
            "baibain search",
        ),
        (
            ("serve", "--port", "http"),
            "--port（待ち受けるポート）には 1〜65535 の整数",
            "baibain serve",
        ),
        (("ask", "住民票の", "写しは"), "余分な引数があります（写しは）", "baibain ask"),
        (("qouta", "show"), "「qouta」というコマンドはありません（もしかして: quota）", "baibain"),
        (("quota", "set", "横浜市", "-5"), "-5 は指定できません。負の数", "baibain quota set"),
        # Dataset numbers start at 1: 「0 以上」 would have invited 0.
        (
            ("dataset", "show", "-1"),
            "-1 は指定できません。負の数は使えません",
            "baibain dataset show",
        ),
    ]
    for args, expected, command in cases:
        result = run(*args)
        assert result.exit_code == 2, args
        assert expected in result.output and "Error" not in result.output, result.output
        assert f"使い方は `{command} --help` で確認できます" in result.output


def test_a_local_file_is_summarized_with_a_plain_citation(run, tmp_path: Path) -> None:
    rule = tmp_path / "庁内ルール.md"
    rule.write_text(
        "# 庁内ルール\n\n公用車は前日までに総務課へ予約する。\n\n"
        "使用後は走行距離を記録簿に記入する。\n",
        "utf-8",
    )
    result = run("summarize", str(rule), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("「庁内ルール」の要約です")
    # A file on the command line has no dataset or organization: no empty brackets.
    assert re.search(r"^\[1\] 庁内ルール(（[^）]+）)?$", result.stdout, re.M), result.stdout
    assert "（）" not in result.stdout


def test_an_unreachable_or_malformed_database_url_is_one_line_not_a_traceback(run) -> None:
    down = run("org", "list", BAIBAIN_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert down.exit_code == 1
    assert "データベースに接続できませんでした。BAIBAIN_DATABASE_URL" in down.output
    for url in ("garbage", "mysql://db.example/baibain"):
        malformed = run("quota", "show", "横浜市", BAIBAIN_DATABASE_URL=url)
        assert malformed.exit_code == 2, url
        assert "BAIBAIN_DATABASE_URL を解釈できません" in malformed.output
    for result in (down, malformed):  # reported, not raised
        assert isinstance(result.exception, SystemExit)


def test_an_export_range_that_ends_before_it_starts_is_refused(run) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    reversed_range = ("--since", "2026-12-31", "--until", "令和8年1月1日")
    refused = run("audit", "export", "--org", "横浜市", *reversed_range)
    assert refused.exit_code == 2
    assert (
        "--since（2026-12-31）は --until（令和8年1月1日）以前の日付にしてください" in refused.output
    )
    one_day = run(
        "audit", "export", "--org", "横浜市", "--since", "2026-12-06", "--until", "2026-12-06"
    )
    assert one_day.exit_code == 0
    # The calendar's ends, as written for "no bound": every record, no traceback.
    unbounded = run(
        "audit", "export", "--org", "横浜市", "--since", "0001-01-01", "--until", "9999-12-31"
    )
    assert unbounded.exit_code == 0 and '"org.create"' in unbounded.stdout


def test_an_export_of_the_questions_nothing_answered_holds_those_alone(run) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    for question in (SAMPLE_QUESTION, "来週の天気は？", "プロ野球の試合結果は"):
        assert run("ask", question, "--org", "横浜市").exit_code == 0
    exported = run("audit", "export", "--org", "横浜市", "--outcome", "not_found")
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    # What staff asked that no document answered: the datasets to add.
    assert [r["payload"]["question"] for r in rows] == ["来週の天気は？", "プロ野球の試合結果は"]
    assert "2 件書き出しました" in exported.stderr
    every = run(
        "audit", "export", "--org", "横浜市", "--outcome", "not_found", "--outcome", "answered"
    )
    assert len(every.stdout.splitlines()) == 3
    mistyped = run("audit", "export", "--org", "横浜市", "--outcome", "notfound")
    assert mistyped.exit_code == 2
    assert "--outcome「notfound」は指定できません。answered、not_found" in mistyped.output


def test_a_data_dir_that_cannot_hold_data_is_said_so(run, tmp_path: Path) -> None:
    a_file = tmp_path / "data"
    a_file.write_text("not a folder", "utf-8")
    refused = run("org", "list", BAIBAIN_DATA_DIR=str(a_file / "baibain"))
    assert refused.exit_code == 2
    assert "にアクセスできませんでした。BAIBAIN_DATA_DIR" in refused.output
    assert "Traceback" not in refused.output


def test_a_database_file_that_cannot_be_opened_is_named(run, tmp_path: Path) -> None:
    taken = tmp_path / "baibain.sqlite3"
    taken.mkdir()  # a folder where the database file should be
    refused = run("org", "list", BAIBAIN_DATABASE_URL=f"sqlite:///{taken}")
    assert refused.exit_code == 1
    assert f"データベースファイル {taken} を開けないか、書き込めません" in refused.output
    assert "BAIBAIN_DATABASE_URL" not in refused.output  # not a server to reach


def test_serve_on_a_port_in_use_is_said_so(run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = run("serve", "--port", port, BAIBAIN_SAMPLE_DATA="0")
    assert refused.exit_code == 2
    assert f"127.0.0.1:{port} で待ち受けできませんでした" in refused.output
    assert run("serve", "--port", "99999").exit_code == 2  # no port, said by the option


def test_a_failure_with_json_output_prints_the_apis_error_object(run) -> None:
    refused = run("ask", "   ", "--json")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "bad_input" and "質問" in error["message"]
    missing = run("summarize", "存在しない計画書", "--json")
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_a_command_stopped_with_ctrl_c_says_it_was_interrupted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A command of its own (Ctrl-C cannot be pressed in a test), under baibain's command group.
    interruptible = typer.Typer(cls=JapaneseUsageGroup)

    @interruptible.command()
    def work() -> None:
        raise KeyboardInterrupt

    @interruptible.command()
    def other() -> None:
        """A second command, so that ``work`` is named on the command line."""

    with pytest.raises(SystemExit) as stopped:
        interruptible(["work"], prog_name="baibain")
    assert stopped.value.code == 130
    assert capsys.readouterr().err.strip() == "中断しました。"


def test_ingest_refuses_a_source_url_that_is_not_a_web_address(run, tmp_path: Path) -> None:
    rule = tmp_path / "規則.txt"
    rule.write_text("第1条　この規則は、公布の日から施行する。", "utf-8")
    assert run("org", "create", "テスト市").exit_code == 0
    for url in ("ftp://example.jp/reiki/", "javascript:alert(1)", "ｈｔｔｐｓ：／／example.jp"):
        refused = run(*ingested_args(rule), "--category", "計画", "--source-url", url)
        assert refused.exit_code == 2, url
        assert "http:// または https://" in refused.stderr
    listed = run("dataset", "list", "--org", "テスト市")
    assert "例規" not in listed.stdout  # nothing was created


def test_a_postgresql_url_as_consoles_print_it_names_the_shipped_driver(
    run, database_url: str
) -> None:
    if not database_url.startswith("postgresql+psycopg://"):
        pytest.skip("needs PostgreSQL (BAIBAIN_TEST_DATABASE_URL)")
    bare = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    legacy = database_url.replace("postgresql+psycopg://", "postgres://", 1)
    assert run("org", "create", "横浜市", BAIBAIN_DATABASE_URL=bare).exit_code == 0
    listed = run("org", "list", BAIBAIN_DATABASE_URL=legacy)
    assert listed.exit_code == 0, listed.output
    assert "横浜市" in listed.stdout


def test_a_question_of_broken_characters_is_told_so_and_recorded(run, data_dir: Path) -> None:
    # A terminal in another encoding: Python reads the bytes it cannot decode as surrogates.
    asked = run("ask", "住民票\udcffの写し")
    assert asked.exit_code == 2
    assert "文字化け" in asked.stderr
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    try:
        with engine.connect() as conn:
            kinds = conn.execute(select(RECORD.c.kind, RECORD.c.outcome)).all()
    finally:
        engine.dispose()
    assert [tuple(k) for k in kinds] == [("turn", "error")]  # asked, refused, in the log


def test_a_document_name_of_broken_characters_is_told_so(run) -> None:
    named = run("summarize", "文書\udcff")
    assert named.exit_code == 2  # it ended in a traceback
    assert "文書名に読み取れない文字が含まれています" in named.stderr


def test_names_and_ids_of_broken_characters_are_told_so(run) -> None:
    # Typed in a terminal of another encoding, each ended in a traceback.
    assert run("org", "create", "横浜市").exit_code == 0
    for args in (
        ("org", "create", "名\udcff"),
        ("quota", "show", "横浜\udcff"),
        ("audit", "export", "--org", "横浜\udcff"),
    ):
        refused = run(*args)
        assert refused.exit_code == 2, args
        assert "名前に読み取れない文字が含まれています" in refused.stderr
    linked = run("org", "link", "横浜市", "slack", "T0\udcff")
    assert linked.exit_code == 2 and "使えない文字が含まれています" in linked.stderr
    assert "名\udcff" not in run("org", "list").stdout
