"""The dataset service on SQLite and PostgreSQL: what a listing says of each dataset."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from admin.datasets import DatasetService
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
