"""`jetmatch report` and `jetmatch graph export` on the small hand-made world."""

from __future__ import annotations

import json

import networkx as nx

from matcher.cli import cli


def test_report_json_has_the_five_sections_with_the_known_figures(runner, small_world, empty_db_url):
    result = runner.invoke(cli, ["--database-url", empty_db_url, "report", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["coverage", "decisions", "exposure", "dormant", "graph"]
    assert (data["coverage"]["covered"], data["coverage"]["with_none"]) == (1, 1)
    assert data["decisions"]["median_hours_to_decision"] == 24
    assert data["graph"]["states_without_tie"] == ["Wyoming"]


def test_report_in_words_names_the_tie_to_recruit_for(runner, small_world, empty_db_url):
    result = runner.invoke(cli, ["--database-url", empty_db_url, "report"])
    assert result.exit_code == 0, result.output
    assert "coverage: 1 of 4 relationships" in result.output
    assert "recruit here: Annapolis, MD ↔ Beppu (0 volunteers)" in result.output
    assert "bridge: Iwate (prefecture" in result.output


def test_graph_export_writes_graphml_that_networkx_reads_back(runner, small_world, empty_db_url, tmp_path):
    target = tmp_path / "ties.graphml"
    result = runner.invoke(cli, ["--database-url", empty_db_url, "graph", "export", "--format", "graphml",
                                 "--json", str(target)])
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    H = nx.read_graphml(target, force_multigraph=True)
    assert (H.number_of_nodes(), H.number_of_edges()) == (written["nodes"], written["edges"])
    assert H.nodes["state:WY"]["name"] == "Wyoming"
    assert "Quillon" not in target.read_text()


def test_graph_export_refuses_an_unknown_format(runner, small_world, empty_db_url, tmp_path):
    result = runner.invoke(cli, ["--database-url", empty_db_url, "graph", "export", "--format", "dot",
                                 str(tmp_path / "g.dot")])
    assert result.exit_code == 2 and "graphml" in result.output
