"""``make bench``: ingest throughput, cold start, search latency and memory of the embedded index.

For each set (``law`` = the law corpus as ``baibain eval`` indexes it; ``10k``, ``100k``, ``1m``
= sentence-group chunks of the shared corpora, see ``baibain.benchdata``):

* a fresh process ingests the set into a new ``EmbeddedIndexStore`` through ``upsert_batches``
  (batches of about 2,000 chunks, each its own transaction) and reports MB/s of chunk text
  (UTF-8 bytes over the wall time of that call, less the time spent making the batches:
  analysis, SQLite commits and the in-memory index included);
* a second fresh process reopens the store, times the first ``Retriever.retrieve`` (cold start:
  reading the index included, the Sudachi dictionary already open), then runs the query set
  ``--rounds`` times; p50/p95 are taken over each query's median latency, so a moment of noise
  from other processes does not count as a slow query;
* peak RSS is ``ru_maxrss`` of each process; the table shows the larger of the two (the JSON
  also has the analysis helper process that ingestion starts, see ``term_workers``).

Run ``python -m baibain.bench --sizes 10k,100k --json``. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from baibain.benchdata import (
    SharedDataMissing,
    bench_queries,
    law_set,
    parse_size,
    read_documents,
    sentence_group_set,
    shared_data_dir,
)
from knowledge.documents import Document

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = "law,10k,100k,1m"
BATCH_CHUNKS = 2_000
ROUNDS = 3
_INDEX_FILE = "index.sqlite3"
_QUERIES_FILE = "queries.json"


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the two child processes ------------------------------------------------------------------


async def _ingest(size: str, workdir: Path) -> dict[str, Any]:
    from knowledge.analysis import Analyzer
    from knowledge.embedded import EmbeddedIndexStore

    documents = read_documents(shared_data_dir(REPO))
    if size == "law":
        chunk_set = law_set(documents)
        wanted = chunk_set.n_chunks
    else:
        chunk_set = sentence_group_set(documents)
        wanted = parse_size(size)
    del documents
    analyzer = Analyzer()
    analyzer.words("辞書を開く")  # the dictionary opens once per process, not per ingest
    store = EmbeddedIndexStore(workdir / _INDEX_FILE, analyzer)
    preparing = 0.0  # making the batches (copies of the base set) is not the store's time
    n_bytes = n_chunks = n_docs = 0
    next_report = 0.1
    chunks_after: dict[int, int] = {}  # documents written → chunks written, for the log

    def batches() -> Iterator[list[Document]]:
        nonlocal preparing, n_bytes, n_chunks, n_docs
        made = chunk_set.batches(wanted, BATCH_CHUNKS)
        while True:
            started = time.perf_counter()
            batch = next(made, None)
            if batch is None:
                return
            n_docs += len(batch)
            n_chunks += sum(len(d.chunks) for d in batch)
            n_bytes += sum(len(c.text.encode()) for d in batch for c in d.chunks)
            chunks_after[n_docs] = n_chunks  # the next batch is made before this one is written
            preparing += time.perf_counter() - started
            yield batch

    async def written(docs: int) -> None:
        nonlocal next_report
        chunks = chunks_after.pop(docs)
        if chunks >= next_report * wanted:
            _log(f"  {size}: {chunks:,} chunks in {time.perf_counter() - begun - preparing:.0f} s")
            next_report += 0.1

    begun = time.perf_counter()
    try:
        await store.upsert_batches(batches(), written)
    finally:
        await store.close()
    elapsed = time.perf_counter() - begun - preparing
    return {
        "documents": n_docs,
        "chunks": n_chunks,
        "text_mb": n_bytes / 1e6,
        "ingest_s": elapsed,
        "ingest_mb_s": n_bytes / 1e6 / elapsed if elapsed else 0.0,
        "ingest_rss_mb": _peak_rss_mb(),
        # The analysis helper process (see ``term_workers``), measured once it has exited.
        "helper_rss_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
        "index_file_mb": sum(p.stat().st_size for p in workdir.glob(_INDEX_FILE + "*")) / 1e6,
    }


async def _serve(workdir: Path, rounds: int) -> dict[str, Any]:
    from knowledge.analysis import Analyzer
    from knowledge.embedded import EmbeddedIndexStore
    from knowledge.index import SearchFilter
    from knowledge.retrieval import Retriever

    queries: list[str] = json.loads((workdir / _QUERIES_FILE).read_text("utf-8"))
    analyzer = Analyzer()
    analyzer.words("辞書を開く")
    started = time.perf_counter()
    store = EmbeddedIndexStore(workdir / _INDEX_FILE, analyzer)
    try:
        retriever = Retriever(store, analyzer)
        await retriever.retrieve(queries[0], SearchFilter())
        load_s = time.perf_counter() - started
        latencies: list[list[float]] = [[] for _ in queries]
        for _ in range(rounds):
            for i, question in enumerate(queries):
                started = time.perf_counter()
                await retriever.retrieve(question, SearchFilter())
                latencies[i].append((time.perf_counter() - started) * 1000)
    finally:
        await store.close()
    medians = [statistics.median(v) for v in latencies]
    return {
        "load_s": load_s,
        "queries": len(queries),
        "rounds": rounds,
        "p50_ms": _percentile(medians, 0.50),
        "p95_ms": _percentile(medians, 0.95),
        "max_ms": max(medians),
        "search_rss_mb": _peak_rss_mb(),
    }


def _child(args: argparse.Namespace) -> int:
    workdir = Path(args.dir)
    if args.child == "ingest":
        result = asyncio.run(_ingest(args.size, workdir))
    else:
        result = asyncio.run(_serve(workdir, args.rounds))
    print(json.dumps(result))
    return 0


# -- the parent: one pair of fresh processes per size ----------------------------------------


def _run_child(*argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "baibain.bench", *argv],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {' '.join(argv[:2])} failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _measure(size: str, queries: list[str], rounds: int, root: Path | None) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"baibain-bench-{size}-", dir=root))
    try:
        (workdir / _QUERIES_FILE).write_text(json.dumps(queries, ensure_ascii=False), "utf-8")
        _log(f"{size}: ingesting …")
        row: dict[str, Any] = {"size": size}
        row.update(_run_child("--child", "ingest", "--size", size, "--dir", str(workdir)))
        _log(f"{size}: searching …")
        row.update(_run_child("--child", "serve", "--dir", str(workdir), "--rounds", str(rounds)))
        row["peak_rss_mb"] = max(row["ingest_rss_mb"], row["search_rss_mb"])
        return row
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


_COLUMNS = (
    ("size", "size", "{}"),
    ("chunks", "chunks", "{:,}"),
    ("MB text", "text_mb", "{:.1f}"),
    ("ingest MB/s", "ingest_mb_s", "{:.2f}"),
    ("load s", "load_s", "{:.2f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p95 ms", "p95_ms", "{:.1f}"),
    ("peak RSS MB", "peak_rss_mb", "{:,.0f}"),
)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The result rows as a Markdown table."""
    lines = ["| " + " | ".join(title for title, _, _ in _COLUMNS) + " |"]
    lines.append("|" + "|".join("---:" if key != "size" else "---" for _, key, _ in _COLUMNS) + "|")
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[key]) for _, key, fmt in _COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m baibain.bench", description=__doc__)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default {DEFAULT_SIZES}")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="passes over the queries")
    parser.add_argument("--workdir", type=Path, help="where the temporary indexes go")
    parser.add_argument("--child", choices=("ingest", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    try:
        for size in sizes:
            if size != "law":
                parse_size(size)
        data = shared_data_dir(REPO)
    except (ValueError, SharedDataMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    documents = read_documents(data)
    queries = bench_queries(data, documents)
    del documents
    _log(f"{len(queries)} queries × {args.rounds} rounds; data from {data}")
    rows = []
    for size in sizes:
        rows.append(_measure(size, queries, args.rounds, args.workdir))
        if not args.json:
            _log(format_table(rows[-1:]).splitlines()[-1])
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
