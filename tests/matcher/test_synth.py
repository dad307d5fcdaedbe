"""Synthetic alumni: deterministic, shaped like the published JET figures, written in bulk."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import func, select

from matcher.models import Alumnus, Placement
from matcher.synth import (
    INTERESTS,
    STORIES,
    Pools,
    add_demo_alumni,
    generate,
    participants_by_year,
)


@pytest.fixture(scope="module")
def pools(engine) -> Pools:
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return Pools.from_session(s)


@pytest.fixture(scope="module")
def five_thousand(pools):
    return generate(5000, seed=11, pools=pools)


def test_same_seed_same_alumni_other_seed_other_alumni(pools):
    a, b, c = generate(1500, 3, pools), generate(1500, 3, pools), generate(1500, 4, pools)
    for name in ("first", "last", "home", "japanese_level", "interests", "consent", "p_alum", "p_muni",
                 "p_alias", "p_role", "p_start", "p_end"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.home, c.home) and not np.array_equal(a.p_muni, c.p_muni)


def test_the_first_alumni_are_the_same_whatever_n(pools):
    small, large = generate(1200, 9, pools), generate(23_000, 9, pools)
    assert np.array_equal(small.home, large.home[:1200]) and np.array_equal(small.interests, large.interests[:1200])
    cut = large.p_alum < 1200
    assert np.array_equal(small.p_muni, large.p_muni[cut]) and np.array_equal(small.p_start, large.p_start[cut])
    assert len(large) == 23_000 and large.p_alum.max() == 22_999


def test_roles_are_about_90_8_2_percent(five_thousand):
    first = np.searchsorted(five_thousand.p_alum, np.arange(5000))
    share = np.bincount(five_thousand.p_role[first], minlength=3) / 5000
    assert share == pytest.approx([0.90, 0.08, 0.02], abs=0.02)


def test_placements_cover_all_47_prefectures_and_rural_towns(five_thousand, pools):
    assert len(set(five_thousand.p_pref.tolist())) == 47
    kinds = pools.muni_kind[five_thousand.p_muni[five_thousand.p_muni >= 0]]
    assert {"town", "village"} <= set(kinds.tolist())
    prefectural = (five_thousand.p_muni < 0).mean()
    assert 0.08 < prefectural < 0.25  # prefectural boards of education and offices


def test_years_follow_the_participant_counts(five_thousand):
    start, end = five_thousand.p_start, five_thousand.p_end
    assert start.min() >= 1987 and start.max() <= 2025
    assert not np.isin(start, [2020, 2021]).any()  # no intake in the pandemic years
    assert ((end - start >= 1) & (end - start <= 5)).all()
    assert np.mean(end - start <= 3) > 0.75  # mostly one to three years
    counts = np.bincount(start - 1987, minlength=39)
    assert counts[15] > 2 * counts[0]  # 2002 (the peak) against 1987
    assert participants_by_year().argmax() == 2002 - 1987


def test_second_placements_and_old_merged_names(five_thousand, pools):
    per_alum = np.bincount(five_thousand.p_alum, minlength=5000)
    assert 0.09 < (per_alum == 2).mean() < 0.17
    old = five_thousand.p_alias >= 0
    assert old.any()
    assert (pools.alias_year[five_thousand.p_alias[old]] > five_thousand.p_start[old]).all()
    # Written with the old name only before the merger; the municipality is the current one.
    assert (pools.alias_muni[five_thousand.p_alias[old]] == five_thousand.p_muni[old]).all()


def test_people_consent_levels_interests_capacity(five_thousand, pools):
    d = five_thousand
    assert 1 - d.consent.mean() == pytest.approx(0.12, abs=0.025)
    assert not (d.consent_contact & ~d.consent).any()
    levels = np.bincount(d.japanese_level, minlength=6)
    assert levels.argmax() in (2, 3) and levels[2] + levels[3] > 0.45 * 5000
    assert set(np.unique(d.max_matches).tolist()) <= {1, 2, 3}
    assert d.availability_hours.min() >= 0 and d.availability_hours.max() <= 20
    n_interests = np.array([bin(int(m)).count("1") for m in d.interests])
    assert n_interests.min() >= 1 and n_interests.max() <= 4
    assert d.interest_text(0) and all(t in INTERESTS for t in d.interest_text(0).split("; "))
    assert d.name(0).count(" ") == 1
    home_pop = pools.place_weight[d.home]
    assert np.median(home_pop) > np.median(pools.place_weight)  # weighted towards where people live
    assert 0.05 < pools.place_tied[d.home].mean() < 0.6


def test_add_demo_alumni_writes_alumni_placements_and_stories(session):
    summary = add_demo_alumni(session, 120, seed=5)
    assert summary["inserted"] == 120 and summary["skipped_stories"] == []
    assert summary["stories"] == [s["name"] for s in STORIES]
    assert session.scalar(select(func.count()).select_from(Alumnus).where(Alumnus.external_id.like("SYN-%"))) == 120
    dana = session.scalars(select(Alumnus).where(Alumnus.given_name == "Dana", Alumnus.family_name == "Whitfield")).one()
    (placement,) = dana.placements
    assert (placement.place, placement.municipality.name, placement.alias.name) == (
        "Ishidoriya, Iwate", "Hanamaki", "Ishidoriya")
    assert (placement.start_year, placement.end_year, dana.home_place.label) == (2003, 2005, "Hot Springs, AR")
    assert "AR" in dana.chapter.state_list
    marcus = session.scalars(select(Alumnus).where(Alumnus.given_name == "Marcus", Alumnus.family_name == "Ellery")).one()
    assert marcus.placements[0].municipality_code == "41206" and marcus.placements[0].employer == "武雄市役所"
    synthetic = session.scalars(select(Alumnus).where(Alumnus.external_id == "SYN-000001")).one()
    assert synthetic.email.endswith("@example.org") and synthetic.placements
    assert synthetic.chapter_id is not None or synthetic.home_state_abbr not in {"CA", "NY", "TX"}
    written = session.scalar(select(func.count()).select_from(Placement).join(Alumnus)
                             .where(Alumnus.external_id.like("SYN-%")))
    assert written == summary["placements"] >= 120

    again = add_demo_alumni(session, 120, seed=5)
    assert (again["inserted"], again["already_present"]) == (0, 120)


def test_init_demo_through_the_command(empty_db_url, runner):
    from matcher.cli import cli

    result = runner.invoke(cli, ["--database-url", empty_db_url, "init", "--demo", "60", "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["demo"]["inserted"] == 60 and summary["counts"]["alumni"] == 60
