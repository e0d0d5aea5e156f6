"""Bundled data files: the thesaurus, law abbreviations and law subjects (two columns, TAB)."""

from __future__ import annotations

from importlib import resources


def tsv_pairs(name: str) -> list[tuple[str, str]]:
    """The (left, right) lines of a bundled two-column TSV file, stripped, without comments
    (lines starting with #) and lines missing a column."""
    raw = resources.files(__name__).joinpath(name)
    pairs: list[tuple[str, str]] = []
    for line in raw.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            left, _, right = line.partition("\t")
            if left.strip() and right.strip():
                pairs.append((left.strip(), right.strip()))
    return pairs
