"""The benchmark runs at a tiny scale and reports every figure the issue asks for."""

import json

from matcher.cli import cli

KEYS = {"alumni", "relationships", "features_s", "score_s", "floor_s", "ratio", "assign_s", "incremental_ms", "peak_mb"}


def test_bench_json_has_the_keys_and_positive_figures(runner):
    result = runner.invoke(cli, ["bench", "--alumni", "3000", "--relationships", "60", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert KEYS <= figures.keys()
    assert (figures["alumni"], figures["relationships"]) == (3000, 60)
    assert all(figures[k] > 0 for k in KEYS - {"alumni", "relationships"})
