"""`docs/dataset.md`, read as data: the raw schema table and the transform's feature groups.

Tests compare the generator and the transform with the document itself, so the three cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "dataset.md"


@dataclass(frozen=True)
class RawColumn:
    """One row of the raw schema table."""

    name: str
    kind: str  # integer, label, category, ordinal, constant, id
    values: str

    @property
    def categories(self) -> list[str]:
        """The listed text values of a category or label column."""
        return [v.strip() for v in re.sub(r"\(.*\)", "", self.values).split(",")]

    @property
    def bounds(self) -> tuple[int, int]:
        """The inclusive range of an integer or ordinal column (a constant's single value twice)."""
        low, _, high = self.values.replace("\u2013", "-").partition(
            "-"
        )  # the document writes ranges with an en dash
        return int(low), int(high or low)


def raw_schema() -> list[RawColumn]:
    """The raw columns, in file order."""
    columns = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("Column", "") and not set(cells[0]) <= {"-"}:
            columns.append(RawColumn(*cells))
    return columns


def feature_groups() -> dict[str, list[str]]:
    """The transform's feature groups (Continuous, Ordinal, One-hot, Binary), as the document lists them."""
    text = DOC.read_text()
    groups = {}
    for group in ("Continuous", "Ordinal", "One-hot", "Binary"):
        found = re.search(rf"- {group}: (.+?)\.\n", text, flags=re.S)
        assert found, f"no '{group}' feature group in {DOC}"
        groups[group] = [name.strip() for name in " ".join(found.group(1).split()).split(",")]
    return groups
