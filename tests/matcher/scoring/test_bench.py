"""The benchmark runs at a tiny scale and reports every figure the issue asks for."""

import json

import pytest

from matcher.cli import cli

KEYS = {"alumni", "relationships", "features_s", "score_s", "floor_s", "ratio", "assign_s", "incremental_ms", "peak_mb"}


@pytest.mark.slow  # builds a reference database with 3,000 synthetic alumni (~5 s)
def test_bench_json_has_the_keys_and_positive_figures(runner):
    result = runner.invoke(cli, ["bench", "--alumni", "3000", "--relationships", "60", "--repeat", "2", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert KEYS | {"incremental_db_ms"} <= figures.keys()
    assert (figures["alumni"], figures["relationships"], figures["repeats"]) == (3000, 60, 2)
    assert all(figures[k] > 0 for k in KEYS - {"alumni", "relationships"})
    assert figures["incremental_db_ms"] < 500  # one stored refresh; ~10 ms on a quiet machine


def test_synthetic_alumni_come_from_the_generator_on_real_places(session):
    from matcher.scoring.bench import _geography, synthetic
    from matcher.synth import Pools, generate

    alumni, rels = synthetic(Pools.from_session(session), _geography(session), 500, 20, seed=4)
    data = generate(500, 4, Pools.from_session(session))
    assert len(alumni) == 500 and len(rels) == 20
    assert (alumni.muni[:, 0] > 1000).mean() > 0.5  # mostly municipal posts, JIS codes
    assert ((alumni.pref[:, 0] >= 0) & (alumni.pref[:, 0] < 47)).all()
    assert alumni.codes["japanese"].tolist() == [0 if j >= 4 else 1 if j >= 2 else 2 for j in data.japanese_level]
