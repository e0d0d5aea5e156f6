"""Retrieval evaluation: build a fresh temporary index from a corpus, run queries, score.

Metrics (binary relevance, document level): recall@k = share of a query's gold documents in
the top k, averaged; mrr@10 = reciprocal rank of the first gold document; ndcg@10; latency of
retrieval per query (analysis included); answer_hit_rate = share of queries with answers whose
answer string appears in the text the bot would show (offline answer text and source titles).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.analysis import Analyzer, normalize
from knowledge.answer import answer_from
from knowledge.corpus import CorpusDefaults, read_corpus, read_jsonl
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import Embedder
from knowledge.errors import BadDocument
from knowledge.index import SearchFilter, batches
from knowledge.retrieval import Retriever

_INGEST_BATCH = 500


@dataclass(frozen=True)
class EvalQuery:
    """One evaluation question."""

    id: str
    text: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...]


def read_queries(path: Path, known_ids: set[str]) -> list[EvalQuery]:
    """Queries of a JSONL file; the query text is the question followed by its choices."""
    queries = []
    for line_no, row in read_jsonl(path, ("id", "question", "gold_ids")):
        gold = row["gold_ids"]
        if not isinstance(gold, list) or not gold:
            raise BadDocument(f"{path} の {line_no} 行目: gold_ids は空でない配列にしてください。")
        gold = [str(g) for g in gold]  # corpus ids are read as strings too
        unknown = [g for g in gold if g not in known_ids]
        if unknown:
            raise BadDocument(
                f"{path} の {line_no} 行目: gold_ids {', '.join(map(str, unknown))} が"
                "コーパスにありません。"
            )
        text = str(row["question"])
        choices, answers = (_strings(row, key, path, line_no) for key in ("choices", "answers"))
        if choices:
            text = text + "\n" + "\n".join(choices)
        queries.append(EvalQuery(str(row["id"]), text, answers, tuple(gold)))
    if not queries:
        raise BadDocument(f"{path} に質問がありません。")
    return queries


def _strings(row: dict[str, Any], key: str, path: Path, line_no: int) -> tuple[str, ...]:
    """A list field of strings (a single string counts as a list of one), empty ones left out."""
    value = row.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise BadDocument(f"{path} の {line_no} 行目: {key} は文字列の配列にしてください。")
    return tuple(str(v) for v in value if str(v).strip())


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def score_ranking(ranked: Sequence[str], gold: Sequence[str], k: int) -> dict[str, float]:
    """Per-query metrics for a ranked list of document ids."""
    gold_set = set(gold)
    result = {f"recall@{n}": len(gold_set & set(ranked[:n])) / len(gold_set) for n in (1, 5, k)}
    first = next((i for i, d in enumerate(ranked[:10]) if d in gold_set), None)
    result["mrr@10"] = 1.0 / (first + 1) if first is not None else 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in gold_set)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold_set), 10)))
    result["ndcg@10"] = dcg / ideal if ideal else 0.0
    return result


async def evaluate(
    corpus: Path,
    queries_path: Path,
    *,
    k: int = 10,
    progress: Callable[[str, int, int], None] | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Run the evaluation in a fresh temporary index and return the metrics object; with an
    ``embedder`` the corpus and the questions are embedded too (hybrid retrieval)."""
    analyzer = Analyzer()
    with tempfile.TemporaryDirectory(prefix="baibain-eval-") as tmp:
        store = EmbeddedIndexStore(Path(tmp) / "index.sqlite3", analyzer, embedder)
        try:
            documents = list(read_corpus(corpus, CorpusDefaults(dataset="eval")))
            if not documents:
                raise BadDocument(f"{corpus} に文書がありません。")
            known = {d.doc_id for d in documents}
            queries = read_queries(queries_path, known)

            async def written(done: int) -> None:
                if progress:
                    progress("index", done, len(documents))

            await store.upsert_batches(batches(documents, _INGEST_BATCH), written)
            return await _run_queries(Retriever(store, analyzer, embedder), queries, k, progress)
        finally:
            await store.close()


async def _run_queries(
    retriever: Retriever,
    queries: list[EvalQuery],
    k: int,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, Any]:
    analyzer = retriever.analyzer
    totals: dict[str, float] = {}
    latencies: list[float] = []
    answered = hits_found = 0
    for done, query in enumerate(queries, start=1):
        started = time.perf_counter()
        retrieved = await retriever.retrieve(query.text, SearchFilter(), k)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [h.meta.doc_id for h in retrieved.hits]
        for name, value in score_ranking(ranked, query.gold_ids, k).items():
            totals[name] = totals.get(name, 0.0) + value
        if query.answers:
            answered += 1
            composed = answer_from(retrieved, analyzer)
            shown = normalize(
                composed.text + "\n" + "\n".join(h.meta.title for h in composed.sources)
            )
            if retrieved.relevant and any(normalize(a) in shown for a in query.answers):
                hits_found += 1
        if progress:
            progress("query", done, len(queries))
    n = len(queries)
    metrics: dict[str, Any] = {"n_queries": n}
    for name in ("recall@1", "recall@5", f"recall@{k}", "mrr@10", "ndcg@10"):
        metrics[name] = round(totals.get(name, 0.0) / n, 4)
    metrics["p50_ms"] = round(_percentile(latencies, 0.50), 2)
    metrics["p95_ms"] = round(_percentile(latencies, 0.95), 2)
    metrics["answer_hit_rate"] = round(hits_found / answered, 4) if answered else None
    metrics["n_answerable"] = answered
    return metrics
