"""Common Japanese family names, from Faker's ja_JP person provider (PyPI, MIT).

The names are kanji with their romanised reading; the engine uses the kanji to split a
name written without a space ("山田太郎") into family and given name.
"""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ["family_name", "romaji"]


def build(data: Path, report: list[str]) -> int:
    """Write ``data/jp_family_names.csv``; return how many names it holds."""
    from faker import VERSION
    from faker.providers.person.ja_JP import Provider

    pairs = sorted(set(zip(Provider.last_names, Provider.last_romanized_names)))
    with (data / "jp_family_names.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(pairs)
    report.append(f"jp_family_names.csv: {len(pairs)} family names from Faker {VERSION} (ja_JP)")
    return len(pairs)
