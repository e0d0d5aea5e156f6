"""A meeting's record asked about from the command line: the reply quoted, its speaker cited."""

from __future__ import annotations

import json
from pathlib import Path

from support import MINUTES

TITLE = "令和6年第3回みどり市議会定例会（第2日）"


def test_the_citys_reply_is_quoted_and_cited_by_its_speaker(run, tmp_path: Path) -> None:
    # Titled without 「会議録」: the dataset's category says it records a meeting.
    record = tmp_path / "r6_3teirei_2.txt"
    record.write_text(MINUTES, "utf-8")
    assert run("org", "create", "みどり市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    ingest = ("ingest", str(record), "--dataset", "市議会", "--org", "みどり市")
    assert run(*ingest, "--category", "会議録", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    question = "避難所の備蓄について市はどう答弁しましたか"
    asked = run("ask", question, "--org", "みどり市", BAIBAIN_SAMPLE_DATA="0")
    assert asked.exit_code == 0, asked.output
    answer, sources = asked.stdout.split("\n出典:\n")
    assert "指定避難所には三日分の食料と水を備蓄しております。" in answer, asked.stdout
    assert "どの程度の食料と水が備蓄されていますか" not in answer
    source = f"[1] {TITLE}（発言4 危機管理監（鈴木次郎君）・市議会・みどり市・2024-09-10 開催）"
    assert sources.startswith(source + "\n"), asked.stdout
    # The member's question is found by what the member asked, cited by the member.
    member = run(
        "ask",
        "避難所の備蓄について質問した議員は",
        "--org",
        "みどり市",
        "--json",
        BAIBAIN_SAMPLE_DATA="0",
    )
    citation = json.loads(member.stdout)["citations"][0]
    assert citation["position"] == "発言2 15番（田中一郎君）", citation
    # A search names whose turn each passage is, as citations do.
    found = run("search", "避難所の備蓄", "--org", "みどり市", "--json", BAIBAIN_SAMPLE_DATA="0")
    positions = [r["position"] for r in json.loads(found.stdout)]
    assert positions[0] == "発言2 15番（田中一郎君）", positions
