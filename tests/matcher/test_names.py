"""Finding 1: names are stored apart and committees see the given name and an initial only,
whatever order the roster wrote them in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from matcher.ingest.importer import import_csv
from matcher.models import Alumnus
from matcher.names import display_name, family_names, parse_name
from matcher.scoring.pool import load_alumni, relationship_side

HEADER = "external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent"


@pytest.mark.parametrize("written, given, family", [
    ("Whitfield, Dana", "Dana", "Whitfield"),          # chapter exports: "Family, Given"
    ("YAMADA Taro", "Taro", "Yamada"),                 # family name in capitals, first
    ("Taro YAMADA", "Taro", "Yamada"),                 # ... or last
    ("Dana Whitfield", "Dana", "Whitfield"),           # plain "Given Family"
    ("山田 太郎", "太郎", "山田"),                        # kanji with a space: family name first
    ("山田太郎", "太郎", "山田"),                         # no space: 山田 is a common family name
])
def test_a_name_is_read_by_the_stated_rules(written, given, family):
    name = parse_name(written)
    assert (name.given, name.family) == (given, family)


def test_the_reference_list_of_family_names_ships_in_data():
    assert {"佐藤", "鈴木", "山田"} <= set(family_names())


def test_a_kanji_name_that_cannot_be_split_shows_an_initial_only():
    name = parse_name("纐纈太郎")  # 纐纈 is not among the common family names
    assert (name.given, name.family) == ("", "纐纈太郎") and "initial only" in name.warning
    assert display_name(name.given, name.family) == "纐."


@pytest.mark.parametrize("written, shown", [
    ("Whitfield, Dana", "Dana W."), ("YAMADA Taro", "Taro Y."), ("山田太郎", "太郎 山."), ("纐纈太郎", "纐."),
])
def test_what_a_committee_sees_never_holds_the_family_name(written, shown):
    alum = Alumnus(external_id="N-1", name=written, email="n@example.org")
    assert alum.display_name == shown
    assert alum.family_name not in alum.display_name


def test_import_reads_the_name_column_by_the_rules_and_warns_where_it_guessed(session, gazetteer, tmp_path):
    path = Path(tmp_path / "alumni.csv")
    path.write_text("\n".join([
        HEADER,
        "N-WHIT,\"Whitfield, Dana\",dana@example.org,\"Hot Springs, AR\",3,education,4,1,yes",
        "N-YAMA,YAMADA Taro,taro@example.org,\"Hot Springs, AR\",5,education,4,1,yes",
        "N-KANJI,山田太郎,yamada@example.org,\"Hot Springs, AR\",5,education,4,1,yes",
        "N-RARE,纐纈花子,rare@example.org,\"Hot Springs, AR\",5,education,4,1,yes",
    ]) + "\n", encoding="utf-8")
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert report.ok, report.summary()
    got = {a.external_id: (a.given_name, a.family_name, a.display_name)
           for a in session.scalars(select(Alumnus).where(Alumnus.external_id.like("N-%")))}
    assert got == {"N-WHIT": ("Dana", "Whitfield", "Dana W."), "N-YAMA": ("Taro", "Yamada", "Taro Y."),
                   "N-KANJI": ("太郎", "山田", "太郎 山."), "N-RARE": ("", "纐纈花子", "纐.")}
    assert [(w.row, w.column) for w in report.warnings] == [(4, "name"), (5, "name")]


def test_import_takes_given_and_family_columns_as_they_are(session, gazetteer, tmp_path):
    path = Path(tmp_path / "alumni.csv")
    path.write_text(HEADER.replace(",name,", ",given_name,family_name,") + "\n"
                    "N-COLS,Mary Ann,van der Berg,mary@example.org,\"Hot Springs, AR\",3,,4,1,yes\n", encoding="utf-8")
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert report.ok and report.warnings == [], report.summary()
    alum = session.scalars(select(Alumnus).where(Alumnus.external_id == "N-COLS")).one()
    assert (alum.given_name, alum.family_name, alum.display_name) == ("Mary Ann", "van der Berg", "Mary Ann v.")


def test_import_without_any_name_column_is_refused(session, gazetteer, tmp_path):
    path = Path(tmp_path / "alumni.csv")
    path.write_text(HEADER.replace(",name,", ",") + "\nN-NONE,x@example.org,,3,,4,1,yes\n", encoding="utf-8")
    report = import_csv(session, "alumni", path, gazetteer=gazetteer)
    assert not report.ok and "given_name" in report.errors[0].message


def test_the_engine_explains_with_the_display_name(session):
    session.add(Alumnus(external_id="N-ENGINE", name="Whitfield, Dana", email="e@example.org", consent=True,
                        max_matches=1))
    session.flush()
    alum_id = session.scalar(select(Alumnus.id).where(Alumnus.external_id == "N-ENGINE"))
    _, info = load_alumni(session, relationship_side(session, fresh=True), [alum_id])
    assert info[alum_id]["name"] == "Dana W."
