"""A roster written the ways coordinators receive it: per row, the place it resolved to or the candidates."""

from __future__ import annotations

from sqlalchemy import select

from matcher.ingest.importer import import_csv
from matcher.models import MunicipalityAlias, Placement
from test_importer import PLACEMENTS_HEADER, alumni, write  # noqa: F401  (alumni is a fixture)


def test_mixed_forms_roster_reports_each_resolution_or_the_candidates(session, gazetteer, alumni, tmp_path):
    path = write(tmp_path, "roster.csv", [
        PLACEMENTS_HEADER,
        "G-001,静岡県榛原郡川根町,ALT,2001,2003,",
        "G-001,\"Yasato-machi, Ibaraki\",ALT,2003,2004,",
        "G-002,湯布院町,ALT,1999,2001,",
        "G-002,\"Ikuno Town Board of Education, Hyogo\",ALT,2002,2004,Ikuno BOE",
        "G-003,名古屋市千種区,CIR,2005,2007,",
        "G-003,\"Azuma, Gunma\",ALT,2001,2002,",
        "G-004,Ishidorya,ALT,2004,2006,",
        "G-004,登米町,ALT,2001,2003,",
    ])
    report = import_csv(session, "placements", path, gazetteer=gazetteer, skip_invalid=True)
    read = {p.row: (p.resolved_to, p.via) for p in report.places}
    assert read[2] == ("Kawane — merged into Shimada on 2008-04-01 (Shimada, Shizuoka)", "district")
    assert read[3][0].startswith("Yasato — merged into Ishioka") and read[3][1] == "alias"
    assert read[4][0].startswith("Yufuin — merged into Yufu")
    assert read[5][1] == "organisation" and "Asago" in read[5][0]
    assert read[6] == ("Chikusa ward — part of Nagoya, Aichi", "ward")
    assert read[8][1] == "typo" and "Hanamaki" in read[8][0]
    assert read[9][0].startswith("Toyoma — merged into Tome")
    (error,) = report.errors
    assert (error.row, error.column) == (7, "place")
    assert error.message.startswith("'Azuma, Gunma' is ambiguous: did you mean Azuma (now Isesaki), Gunma;")
    assert "place: row 6, column place: '名古屋市千種区' → Chikusa ward — part of Nagoya, Aichi (via ward)" in \
        report.summary()
    toyoma = session.scalars(select(Placement).join(MunicipalityAlias).where(MunicipalityAlias.kana == "とよままち")).one()
    assert (toyoma.municipality_code, toyoma.alias.name, toyoma.alias.district_ja) == ("04212", "Toyoma", "登米郡")


def test_a_100_kb_placement_name_is_a_clear_error_in_the_import(session, gazetteer, alumni, tmp_path):
    path = write(tmp_path, "long.csv", [PLACEMENTS_HEADER, f"G-001,{'Ishidoriya' * 10_240},ALT,2001,2003,"])
    report = import_csv(session, "placements", path, gazetteer=gazetteer)
    assert not report.ok and report.inserted == 0
    assert str(report.errors[0]) == "row 2, column place: is 102,400 characters long; a place is at most 200"


def test_unknown_place_suggests_the_old_town(session, gazetteer, alumni, tmp_path):
    path = write(tmp_path, "typo.csv", [PLACEMENTS_HEADER, "G-001,\"Ishidorixxa, Iwate\",ALT,2001,2003,"])
    (error,) = import_csv(session, "placements", path, gazetteer=gazetteer).errors
    assert "did you mean Ishidoriya (now Hanamaki), Iwate?" in error.message
