"""CSV import: located errors, all or nothing, upserts, encodings, mergers — on real places."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from matcher import db
from matcher.cli import cli
from matcher.ingest.importer import ChapterFinder, import_csv, parse_japanese_level
from matcher.models import Alumnus, Chapter, MunicipalityAlias, Placement, Relationship, USPlace

FIXTURES = Path(__file__).with_name("fixtures")
ALUMNI_HEADER = "external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent"
PLACEMENTS_HEADER = "alum_external_id,place,role,start_year,end_year,employer"
RELATIONSHIPS_HEADER = "us_place,jp_place,signed,status,themes,committee_name,committee_email,volunteers_wanted"


def write(tmp_path: Path, name: str, lines: list[str], bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig" if bom else "utf-8")
    return path


def fixture(tmp_path: Path, name: str) -> Path:
    """Copy a fixture beside nothing else, so rejects files land in tmp_path, not the repo."""
    return Path(shutil.copy(FIXTURES / name, tmp_path / name))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def alum(session, external_id: str) -> Alumnus:
    return session.scalars(select(Alumnus).where(Alumnus.external_id == external_id)).one()


@pytest.fixture
def alumni(session, gazetteer, tmp_path):
    """Four alumni (G-001..G-004) imported into the rolled-back session."""
    report = import_csv(session, "alumni", fixture(tmp_path, "alumni_good.csv"), gazetteer=gazetteer)
    assert report.ok, report.summary()
    return report


# --- the five-fault file through the command --------------------------------------------------


def test_five_faults_print_five_located_errors_and_write_nothing(scratch_db_url, runner, tmp_path):
    engine = db.make_engine(scratch_db_url)
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Alumnus))
    path = fixture(tmp_path, "alumni_five_faults.csv")

    result = runner.invoke(cli, ["--database-url", scratch_db_url, "import", "alumni", str(path)])

    assert result.exit_code != 0
    located = [line for line in result.output.splitlines() if line.startswith("row ")]
    assert located == [
        "row 3, column email: 'bob@' is not an e-mail address",
        "row 4, column home: unknown place 'Nowhereville, WI'; expected a US city (\"Rice Lake, WI\") or ZIP code",
        "row 5, column availability_hours: 'lots' is not a whole number (expected 0–168)",
        "row 6, column external_id: duplicate external id 'A-001' (already on row 2)",
        "row 7, column consent: 'maybe' is not yes/no (expected yes, no, y, n, true, false, 1 or 0)",
    ]
    assert "5 errors — nothing written" in result.output
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Alumnus)) == before
    engine.dispose()


def test_json_report_lists_errors_with_row_column_value(scratch_db_url, runner, tmp_path):
    path = fixture(tmp_path, "alumni_five_faults.csv")
    result = runner.invoke(cli, ["--database-url", scratch_db_url, "import", "alumni", str(path), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["ok"] is False and report["rows"] == 6 and report["inserted"] == 0
    assert report["errors"][0] == {"row": 3, "column": "email", "value": "bob@",
                                   "message": "'bob@' is not an e-mail address"}


# --- header and row checks ------------------------------------------------------------------------


def test_missing_required_column_is_an_error_on_the_header(session, gazetteer, tmp_path):
    path = write(tmp_path, "no_email.csv", ["external_id,name,home,japanese_level,interests,"
                                            "availability_hours,max_matches,consent,shoe_size",
                                            "M-1,Ann Wu,\"Rice Lake, WI\",2,,0,1,yes,9"])
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert [str(e) for e in report.errors] == ["row 1, column email: required column 'email' is missing"]
    assert [w.column for w in report.warnings] == ["shoe_size"]
    assert not session.scalars(select(Alumnus).where(Alumnus.external_id == "M-1")).first()


def test_ambiguous_place_lists_candidates(session, gazetteer, tmp_path):
    path = write(tmp_path, "ambiguous.csv", [ALUMNI_HEADER, "X-1,Ann Wu,ann@example.org,Springfield,2,,0,1,yes"])
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    (error,) = report.errors
    assert (error.row, error.column) == (2, "home")
    assert "'Springfield' is ambiguous: " in error.message
    assert "(IL)" in error.message and "(MO)" in error.message


def test_placement_faults_are_all_reported(session, gazetteer, alumni, tmp_path):
    path = write(tmp_path, "placements_bad.csv", [
        PLACEMENTS_HEADER,
        "G-001,\"Takeo, Saga\",Teacher,2004,2005,",      # unknown role
        "G-001,\"Takeo, Saga\",ALT,1980,1981,",          # before JET began
        "G-001,\"Takeo, Saga\",ALT,2006,2004,",          # end before start
        "G-001,\"Takeo, Saga\",ALT,2000,2012,",          # more than ten years
        "Z-999,\"Takeo, Saga\",ALT,2000,2002,",          # no such alum
        "G-001,Fuchu,ALT,2000,2002,",                    # Tokyo or Hiroshima?
        "G-001,\"Takeo, Saga\",ALT,twenty,2002,",        # bad number
    ])
    report = import_csv(session, "placements", path, gazetteer=gazetteer)
    found = [(e.row, e.column) for e in report.errors]
    assert found == [(2, "role"), (3, "start_year"), (3, "end_year"), (4, "end_year"), (5, "end_year"), (6, "alum_external_id"),
                     (7, "place"), (8, "start_year")]
    messages: dict[int, str] = {}
    for e in report.errors:
        messages.setdefault(e.row, e.message)
    assert messages[2] == "'Teacher' is not a JET role (expected ALT, CIR or SEA)"
    assert messages[3].startswith("1980 is out of range (expected 1987–")
    assert messages[4] == "2004 is before the start year 2006"
    assert "no alum with external id 'Z-999'" in messages[6]
    assert "'Fuchu' is ambiguous" in messages[7]
    assert not session.scalars(select(Placement).where(Placement.place == "Takeo, Saga")).first()


def test_japanese_levels_in_every_notation():
    assert [parse_japanese_level(v) for v in ("0", "5", "N5", "n1", "JLPT N2", "none", "Conversational",
                                              "business", "native")] == [0, 5, 1, 5, 4, 0, 3, 4, 5]
    assert parse_japanese_level("6") is None and parse_japanese_level("N6") is None


# --- all or nothing, skip-invalid, dry run, re-import ---------------------------------------------


def test_skip_invalid_writes_good_rows_and_a_rejects_file(session, gazetteer, tmp_path):
    path = fixture(tmp_path, "alumni_five_faults.csv")
    report = import_csv(session, "alumni", path, gazetteer=gazetteer, skip_invalid=True)
    assert (report.inserted, report.rejected, report.ok) == (1, 5, False)
    assert alum(session, "A-001").name == "Hannah Keller"
    rejects = tmp_path / "alumni_five_faults.rejects.csv"
    assert report.rejects_file == str(rejects)
    with open(rejects, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["external_id"] for r in rows] == ["A-002", "A-003", "A-004", "A-001", "A-005"]
    assert rows[0]["error"] == "email: 'bob@' is not an e-mail address"
    assert rows[0]["home"] == "Hot Springs, AR"


def test_dry_run_counts_but_writes_nothing(session, gazetteer, tmp_path):
    before = count(session, Alumnus)
    report = import_csv(session, "alumni", fixture(tmp_path, "alumni_good.csv"), gazetteer=gazetteer,
                        dry_run=True)
    assert report.ok and report.to_json()["inserted"] == 4 and report.dry_run
    assert count(session, Alumnus) == before
    assert "dry run, nothing written" in report.summary()


def test_reimport_changes_nothing_then_updates_only_what_changed(session, gazetteer, alumni, tmp_path):
    assert (alumni.inserted, alumni.updated, alumni.unchanged) == (4, 0, 0)
    stamp = alum(session, "G-002").updated_at
    again = import_csv(session, "alumni", FIXTURES / "alumni_good.csv", gazetteer=gazetteer)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert alum(session, "G-002").updated_at == stamp

    edited = (FIXTURES / "alumni_good.csv").read_text(encoding="utf-8").replace(",sports,4,1,", ",sports,20,1,")
    path = write(tmp_path, "edited.csv", edited.splitlines())
    third = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 3)
    session.expire_all()
    assert alum(session, "G-002").availability_hours == 20


def test_alumni_values_homes_and_chapters(session, gazetteer, alumni):
    hannah, bob, carla, dev = (alum(session, f"G-00{i}") for i in range(1, 5))
    assert (hannah.japanese_level, hannah.consent, hannah.consent_contact) == (3, True, False)
    assert (bob.japanese_level, bob.consent_contact) == (3, True)  # consent_contact defaults to consent
    assert (carla.consent, dev.japanese_level, dev.max_matches) == (False, 4, 3)
    hot_springs = session.scalars(select(USPlace).where(USPlace.name == "Hot Springs", USPlace.state_abbr == "AR",
                                                        USPlace.kind == "city")).one()
    assert (bob.home_place_id, bob.home_state_abbr) == (hot_springs.id, "AR")
    assert dev.home_state_abbr == "WI" and dev.home_lat == pytest.approx(45.5, abs=0.3)  # ZIP 54868, Rice Lake
    assert "AR" in session.get(Chapter, bob.chapter_id).state_list
    assert "WI" in session.get(Chapter, hannah.chapter_id).state_list


def test_two_chapters_sharing_california_pick_the_nearest_hub(session):
    finder = ChapterFinder.from_session(session)
    north = finder.find("CA", 38.40, -122.82)  # Sebastopol
    south = finder.find("CA", 32.72, -117.16)  # San Diego
    assert north != south
    assert "San Francisco" in session.get(Chapter, north).hub and "Los Angeles" in session.get(Chapter, south).hub


def test_bom_file_with_kanji_and_kana_round_trips(session, gazetteer, alumni, tmp_path):
    path = write(tmp_path, "bom.csv", [PLACEMENTS_HEADER, "G-004,武雄市,ALT,2015,2017,武雄市教育委員会（たけお）"],
                 bom=True)
    report = import_csv(session, "placements", path, gazetteer=gazetteer)
    assert report.ok, report.summary()
    placement = session.scalars(select(Placement).where(Placement.place == "武雄市")).one()
    assert (placement.employer, placement.municipality_code) == ("武雄市教育委員会（たけお）", "41206")


def test_a_failure_while_writing_leaves_the_database_as_it_was(session, gazetteer, tmp_path, monkeypatch):
    import matcher.ingest.importer as ingest

    real_write = ingest._write

    def write_then_die(*args, **kwargs):
        real_write(*args, **kwargs)
        raise KeyboardInterrupt  # as if the import were killed after the INSERT

    monkeypatch.setattr(ingest, "_write", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        import_csv(session, "alumni", fixture(tmp_path, "alumni_good.csv"), gazetteer=gazetteer)
    assert not session.scalars(select(Alumnus).where(Alumnus.external_id.like("G-%"))).first()


# --- placements: mergers, prefectures, upsert key ------------------------------------------------


def test_placements_through_a_merged_name_and_at_prefecture_level(session, gazetteer, alumni, tmp_path):
    report = import_csv(session, "placements", fixture(tmp_path, "placements_saga.csv"), gazetteer=gazetteer)
    assert report.ok, report.summary()
    assert report.inserted == 4
    by_place = {p.place: p for p in session.scalars(select(Placement).join(Alumnus)
                                                    .where(Alumnus.external_id.like("G-%")))}
    yamauchi = by_place["Yamauchi-cho, Saga"]  # Yamauchi merged into Takeo on 2006-03-01
    assert (yamauchi.municipality_code, yamauchi.prefecture_code, yamauchi.role) == ("41206", "41", "ALT")
    assert session.get(MunicipalityAlias, yamauchi.alias_id).name == "Yamauchi"
    ishidoriya = by_place["Ishidoriya, Iwate"]  # merged into Hanamaki on 2006-01-01
    assert ishidoriya.municipality.name == "Hanamaki" and ishidoriya.alias.merged_on.isoformat() == "2006-01-01"
    takeo = by_place["武雄市"]
    assert (takeo.municipality_code, takeo.alias_id, takeo.employer) == ("41206", None, "武雄市教育委員会")
    prefectural = by_place["Saga Prefecture"]
    assert (prefectural.municipality_code, prefectural.prefecture_code) == (None, "41")

    again = import_csv(session, "placements", FIXTURES / "placements_saga.csv", gazetteer=gazetteer)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


# --- relationships, chapters, seekers ------------------------------------------------------------


def test_relationship_row_updates_the_reference_pair(session, gazetteer, tmp_path):
    existing = session.scalars(select(Relationship).join(USPlace, Relationship.us_place_id == USPlace.id)
                               .where(USPlace.name == "Sebastopol", Relationship.jp_municipality_code == "41206")
                               ).one()
    total = count(session, Relationship)
    path = write(tmp_path, "rel.csv", [RELATIONSHIPS_HEADER,
                                       "\"Sebastopol, CA\",\"Takeo, Saga\",,dormant,sustainability; education;"
                                       " education,Sebastopol Sister Cities,info@example.org,2"])
    report = import_csv(session, "relationships", path, gazetteer=gazetteer)
    assert report.ok, report.summary()
    assert (report.inserted, report.updated) == (0, 1)
    session.expire_all()
    assert count(session, Relationship) == total
    rel = session.get(Relationship, existing.id)
    assert (rel.status, rel.themes, rel.committee_email, rel.volunteers_wanted) == (
        "dormant", "sustainability;education", "info@example.org", 2)
    assert rel.signed == existing.signed  # a blank cell keeps the reference value


def test_new_relationship_state_to_prefecture_and_bad_cells(session, gazetteer, tmp_path):
    path = write(tmp_path, "rel2.csv", [
        RELATIONSHIPS_HEADER,
        "Wyoming,Saga Prefecture,2024-04-01,active,education,,,",
        "\"Rice Lake, WI\",\"Takeo, Saga\",1999-13-01,sleeping,,,bad-address,-1",
    ])
    report = import_csv(session, "relationships", path, gazetteer=gazetteer)
    assert [(e.row, e.column) for e in report.errors] == [(3, "signed"), (3, "status"), (3, "committee_email"),
                                                          (3, "volunteers_wanted")]
    report = import_csv(session, "relationships", path, gazetteer=gazetteer, skip_invalid=True)
    rel = session.scalars(select(Relationship).where(Relationship.pair_key == "state:WY|pref:41")).one()
    assert (rel.us_kind, rel.jp_kind, rel.signed_year, rel.status) == ("state", "prefecture", 2024, "active")


def test_chapters_and_seekers(session, gazetteer, tmp_path):
    chapters = write(tmp_path, "chapters.csv", ["slug,name,states,hub",
                                                "ozarks,JETAA Ozarks,AR;MO,\"Hot Springs, AR\"",
                                                "nowhere,JETAA Nowhere,ZZ,"])
    report = import_csv(session, "chapters", chapters, gazetteer=gazetteer, skip_invalid=True)
    assert [str(e) for e in report.errors] == [
        "row 3, column states: 'ZZ' is not a US state abbreviation (expected e.g. \"DC;MD;VA\")"]
    ozarks = session.scalars(select(Chapter).where(Chapter.slug == "ozarks")).one()
    assert ozarks.states == "AR;MO" and ozarks.hub_place.name == "Hot Springs"

    seekers = write(tmp_path, "seekers.csv", ["municipality,prefecture,desired_countries,desired_partner,as_of,source",
                                              "Shintoku,Hokkaido,United States; Canada,A similar town,2018-05,CLAIR"])
    report = import_csv(session, "seekers", seekers, gazetteer=gazetteer)
    assert report.ok, report.summary()
    assert report.inserted + report.updated + report.unchanged == 1


# --- speed: bulk look-ups, not a query per row ----------------------------------------------------


def test_import_uses_a_bounded_number_of_queries(session, gazetteer, tmp_path):
    homes = ["Rice Lake, WI", "Hot Springs, AR", "Sebastopol, CA", "54868"]
    lines = [ALUMNI_HEADER] + [f"Q-{i:04d},Test Person {i},p{i}@example.org,\"{homes[i % 4]}\",2,education,4,1,yes"
                               for i in range(600)]
    path = write(tmp_path, "many.csv", lines)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(session.get_bind(), "before_cursor_execute", listener)
    try:
        report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", listener)
    assert report.ok and report.inserted == 600
    assert len(statements) < 20, statements


def test_skip_invalid_still_fails_on_a_bad_header(scratch_db_url, runner, tmp_path):
    path = write(tmp_path, "headless.csv", ["external_id,name", "H-1,Ann Wu"])
    result = runner.invoke(cli, ["--database-url", scratch_db_url, "import", "alumni", str(path), "--skip-invalid"])
    assert result.exit_code == 1
    assert "row 1, column email: required column 'email' is missing" in result.output
    assert not (tmp_path / "headless.rejects.csv").exists()


@pytest.mark.parametrize("cell, message", [("x" * 200_000, "has a cell longer than 128 KB"),
                                           ("Rutland\x00, VT", "contains a NUL character")])
def test_huge_cells_and_nul_bytes_are_row_errors_not_tracebacks(cell, message, runner, scratch_db_url, tmp_path):
    path = write(tmp_path, "alumni.csv", [ALUMNI_HEADER, f'X-1,Ann Example,ann@example.org,"{cell}",3,,4,1,yes',
                                          'X-2,Ben Example,ben@example.org,"Rutland, VT",3,,4,1,yes'])
    result = runner.invoke(cli, ["--database-url", scratch_db_url, "import", "alumni", str(path), "--json"])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    report = json.loads(result.output)
    assert [(e["row"], e["message"]) for e in report["errors"]] == [(2, message)]
    engine = db.make_engine(scratch_db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Alumnus).where(Alumnus.external_id.in_(["X-1", "X-2"]))) == 0
    engine.dispose()
