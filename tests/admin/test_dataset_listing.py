"""The dataset service on SQLite and PostgreSQL: what a listing says of each dataset."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from admin.datasets import DatasetService, SourceState
from admin.document_versions import DocumentRecord
from admin.orgs import create_org


def test_a_listing_counts_the_documents_of_each_dataset(db_engine: Engine) -> None:
    city = create_org(db_engine, "横浜市")
    datasets = DatasetService(db_engine)
    rules = datasets.create(city.id, "例規", "条例・規則・例規")
    plans = datasets.create(city.id, "総合計画", "計画")
    shared = datasets.create(city.id, "統計書", "統計", attested_by="法務課")
    for dataset, names in ((rules, ("a.txt", "b.txt", "c.txt")), (shared, ("d.txt",))):
        datasets.record(
            dataset.id,
            [DocumentRecord(f"ds{dataset.id}/{n}", n, n, content_hash=n) for n in names],
        )
    listed = {d.name: d.documents for d in datasets.visible(city.id)}
    assert listed == {"例規": 3, "総合計画": 0, "統計書": 1}
    # Another organization sees the shared one alone, with its documents.
    other = create_org(db_engine, "川崎市")
    assert [(d.name, d.documents) for d in datasets.visible(other.id)] == [("統計書", 1)]
    assert datasets.get(plans.id, city.id).documents == 0


def test_a_failed_refresh_is_kept_until_one_works_and_changes_nothing_else(
    db_engine: Engine,
) -> None:
    city = create_org(db_engine, "横浜市")
    datasets = DatasetService(db_engine)
    url = "https://example.jp/shisetsu.csv"
    dataset = datasets.create(city.id, "施設一覧", "統計", source_url=url, refresh_hours=24)
    datasets.record(dataset.id, [DocumentRecord(f"ds{dataset.id}/a.csv", "a.csv", "a", "h")])
    datasets.remember_source(dataset.id, SourceState('"v1"', "Mon, 07 Dec 2026", "a.csv"))
    worked = datasets.get(dataset.id, city.id)
    assert worked.refreshed_at is not None and worked.refresh_error == ""

    datasets.refresh_failed(dataset.id, "source_refused")
    first = datasets.get(dataset.id, city.id)
    assert first.refresh_error == "source_refused" and first.refresh_failing_since is not None
    datasets.refresh_failed(dataset.id, "source_unreachable")
    again = datasets.get(dataset.id, city.id)
    # Failing since the first failure, with the latest reason; the rest as the last refresh left it.
    assert again.refresh_error == "source_unreachable"
    assert again.refresh_failing_since == first.refresh_failing_since
    assert again.refreshed_at == worked.refreshed_at and again.documents == 1
    assert datasets.source_state(dataset.id) == SourceState('"v1"', "Mon, 07 Dec 2026", "a.csv")

    datasets.remember_source(dataset.id, SourceState('"v2"', "", "a.csv"))
    fixed = datasets.get(dataset.id, city.id)
    assert (fixed.refresh_error, fixed.refresh_failing_since) == ("", None)
