"""The `jetmatch` command's core: help, init (idempotent), resolve, database selection."""

import json

from sqlalchemy import func, select

from matcher import db
from matcher.cli import cli
from matcher.models import Relationship, USZip


def test_help_lists_every_command_of_the_design_table(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "resolve", "import", "score", "suggest", "partnerships", "serve", "demo", "bench"):
        assert f"  {command} " in result.output, command


def test_init_twice_loads_reference_data_once(runner, empty_db_url):
    first = runner.invoke(cli, ["--database-url", empty_db_url, "init", "--json"])
    assert first.exit_code == 0, first.output
    loaded = json.loads(first.output)
    assert loaded["revision"] == db.head_revision()
    assert loaded["counts"]["prefectures"] == 47
    assert loaded["counts"]["relationships"] == 300
    again = runner.invoke(cli, ["--database-url", empty_db_url, "init", "--json"])
    assert again.exit_code == 0, again.output
    assert all(n == 0 for n in json.loads(again.output)["reference"].values())
    assert json.loads(again.output)["counts"] == loaded["counts"]
    engine = db.make_engine(empty_db_url)
    with engine.connect() as conn:
        # Rice Lake, WI is reachable by its ZIP code.
        assert conn.scalar(select(func.count()).select_from(USZip).where(USZip.zip == "54868")) == 1
    engine.dispose()


def test_commands_refuse_an_uninitialised_database(runner, empty_db_url):
    result = runner.invoke(cli, ["--database-url", empty_db_url, "resolve", "Takeo"])
    assert result.exit_code != 0
    assert "run `jetmatch init` first" in result.output


def test_database_url_comes_from_the_environment(runner, monkeypatch, db_url):
    monkeypatch.setenv("JETMATCH_DATABASE_URL", db_url)
    result = runner.invoke(cli, ["resolve", "--json", "54868"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["name"] == "Rice Lake"


def test_resolve_json_is_a_list_in_input_order(runner, db_url):
    queries = ["Yamauchi, Saga", "大分市", "Rice Lake, WI", "Fuchu", "Qzxqzville"]
    result = runner.invoke(cli, ["--database-url", db_url, "resolve", "--json", *queries])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output)
    assert [a["query"] for a in answers] == queries
    assert [a["status"] for a in answers] == ["resolved", "resolved", "resolved", "ambiguous", "unknown"]
    yamauchi = answers[0]
    assert (yamauchi["name"], yamauchi["code"]) == ("Takeo", "41206")
    assert yamauchi["via_alias"] == {"name": "Yamauchi", "merged_on": "2006-03-01"} or (
        yamauchi["via_alias"]["name"] == "Yamauchi" and yamauchi["via_alias"]["merged_on"] == "2006-03-01"
    )
    for key in ("query", "status", "country", "kind", "name", "name_ja", "prefecture", "state", "code",
                "lat", "lon", "via_alias", "candidates"):
        assert key in answers[2], key
    assert {c["prefecture"] for c in answers[3]["candidates"]} >= {"Tokyo", "Hiroshima"}


def test_resolve_json_says_how_each_place_matched(runner, db_url):
    queries = ["静岡県榛原郡川根町", "Ikuno Town Board of Education, Hyogo", "Chikusa-ku, Nagoya", "〒025-0301",
               "Billings MT 59101", "Hanamaki", "Azuma, Gunma"]
    result = runner.invoke(cli, ["--database-url", db_url, "resolve", "--json", *queries])
    answers = json.loads(result.output)
    assert [(a["name"], a["via"]) for a in answers[:6]] == [
        ("Shimada", "district"), ("Asago", "organisation"), ("Nagoya", "ward"), ("Hanamaki", "postal code"),
        ("Billings", "address"), ("Hanamaki", "name")]
    assert answers[2]["ward"]["name_ja"] == "千種区" and answers[4]["state"] == "MT"
    azuma = answers[6]
    assert azuma["status"] == "ambiguous" and len(azuma["candidates"]) == 3
    assert all(c["note"].startswith("old village") for c in azuma["candidates"])
    text = runner.invoke(cli, ["--database-url", db_url, "resolve", "Azuma, Gunma"]).output
    assert "'Azuma, Gunma' is ambiguous: did you mean Azuma (now Isesaki), Gunma;" in text


def test_resolve_text_exits_non_zero_when_a_query_is_unknown(runner, db_url):
    result = runner.invoke(cli, ["--database-url", db_url, "resolve", "Hanamaki", "Qzxqzville"])
    assert result.exit_code == 1
    assert "Hanamaki" in result.output and "'Qzxqzville': unknown place" in result.output


def test_reference_relationships_include_state_prefecture_ties(session):
    maryland = session.scalar(select(Relationship).where(Relationship.pair_key == "state:MD|pref:14"))
    assert maryland is not None
    assert (maryland.us_kind, maryland.jp_kind, maryland.jp_label) == ("state", "prefecture", "Kanagawa Prefecture")
