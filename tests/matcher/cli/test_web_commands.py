"""`jetmatch users add` and `jetmatch demo --no-serve`."""

import json

from sqlalchemy import select

from matcher import db
from matcher.cli import cli
from matcher.models import Relationship, Suggestion, User


def test_users_add_with_password_and_with_invite(runner, scratch_db_url):
    added = runner.invoke(cli, ["--database-url", scratch_db_url, "users", "add", "--login", "Coord@Example.org",
                                "--role", "coordinator", "--password", "long enough pw"])
    assert added.exit_code == 0, added.output
    assert "added coord@example.org (coordinator)" in added.output
    invited = runner.invoke(cli, ["--database-url", scratch_db_url, "users", "add", "--login", "lead@example.org",
                                  "--role", "chapter_lead", "--chapter", "no-such-chapter"])
    assert invited.exit_code == 1 and "no such chapter" in invited.output
    engine = db.make_engine(scratch_db_url)
    with db.make_sessionmaker(engine)() as session:
        rel_id = session.scalar(select(Relationship.id).order_by(Relationship.id))
    engine.dispose()
    result = runner.invoke(cli, ["--database-url", scratch_db_url, "users", "add", "--login", "c@example.org",
                                 "--role", "committee", "--relationship", str(rel_id), "--json"])
    data = json.loads(result.output)
    assert data["role"] == "committee" and data["invite_url"].startswith("http://127.0.0.1:5000/invite/")


def test_demo_builds_a_fresh_database_with_one_login_per_role(runner, tmp_path):
    result = runner.invoke(cli, ["demo", "--no-serve", "--alumni", "120", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["database"] == str(tmp_path / "instance" / "demo.sqlite")
    assert {a["role"] for a in summary["accounts"]} == {"coordinator", "chapter_lead", "committee", "alumnus"}
    engine = db.make_engine(f"sqlite:///{summary['database']}")
    with db.make_sessionmaker(engine)() as session:
        assert session.scalar(select(User.role).where(User.login == "committee@demo.jetmatch")) == "committee"
        assert session.scalar(select(Suggestion.id)) is not None
    engine.dispose()
    again = runner.invoke(cli, ["demo", "--no-serve", "--alumni", "60"])  # deletes and rebuilds
    assert again.exit_code == 0, again.output
    assert "committee@demo.jetmatch" in again.output and "password jetmatch-demo" in again.output


def test_users_disable_enable_reset_password_and_list(runner, scratch_db_url, monkeypatch):
    monkeypatch.setenv("JETMATCH_BASE_URL", "https://jetmatch.example.org")
    url = ["--database-url", scratch_db_url]
    assert runner.invoke(cli, [*url, "users", "add", "--login", "dana@example.org", "--role", "coordinator",
                               "--password", "long enough pw"]).exit_code == 0
    disabled = json.loads(runner.invoke(cli, [*url, "users", "disable", "Dana@Example.org", "--json"]).output)
    assert disabled["state"] == "disabled"
    assert json.loads(runner.invoke(cli, [*url, "users", "enable", "dana@example.org", "--json"]).output)["state"] \
        == "active"
    reset = json.loads(runner.invoke(cli, [*url, "users", "reset-password", "dana@example.org", "--json"]).output)
    assert reset["state"] == "invited" and reset["invite_url"].startswith("https://jetmatch.example.org/invite/")
    text = runner.invoke(cli, [*url, "users", "reset-password", "dana@example.org", "--password", "another long pw"])
    assert text.exit_code == 0 and "sessions ended" in text.output
    listed = json.loads(runner.invoke(cli, [*url, "users", "list", "--json"]).output)
    assert {"login": "dana@example.org", "role": "coordinator", "state": "active", "invite_expires_at": None,
            "api_token": None} in listed
    missing = runner.invoke(cli, [*url, "users", "disable", "nobody@example.org"])
    assert missing.exit_code == 1 and "no user 'nobody@example.org'" in missing.output


# A web server that lost the first stop signal (it came before its handlers were set up): here a
# child that ignores SIGTERM for its first second, then would take it. Serve used to wait for ever.
_DEAF_AT_FIRST = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
                  "time.sleep(1); signal.signal(signal.SIGTERM, signal.SIG_DFL); time.sleep(600)")
_SUPERVISOR = ("import sys; from matcher.cli.web import _supervise; "
               "sys.exit(_supervise([[sys.executable, '-c', 'import time; time.sleep(600)'], "
               "[sys.executable, '-c', sys.argv[1]]], {}, resend_after=0.5))")


def test_serve_stops_a_web_server_that_missed_the_first_stop_signal():
    import os
    import signal
    import subprocess
    import sys

    with subprocess.Popen([sys.executable, "-c", _SUPERVISOR, _DEAF_AT_FIRST], stdout=subprocess.PIPE, text=True,
                          env=dict(os.environ)) as supervisor:
        try:
            assert supervisor.stdout.readline().strip() == "up"  # the web child runs, deaf to SIGTERM for now
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=30) == -signal.SIGTERM & 0xFF  # the server's own end, as exit status
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
