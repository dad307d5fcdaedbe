"""`jetmatch import` queues re-scores, `jetmatch jobs` lists them, `jetmatch worker` and the
worker `jetmatch serve` starts run them; serve stops its worker when it stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from matcher.cli import cli

ALUM = ("external_id,name,email,home,japanese_level,interests,availability_hours,max_matches,consent\n"
        "{id},Zora Plimpton,zora.{id}@example.org,\"Hot Springs, AR\",N2,education,5,2,yes\n")
PLACEMENT = ("alum_external_id,place,role,start_year,end_year,employer\n"
             "{id},\"Ishidoriya, Iwate\",ALT,2003,2005,Ishidoriya Town Board of Education\n")


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_queues_a_rescore_that_jobs_lists_and_foreground_runs(runner, scratch_db_url, tmp_path):
    base = ["--database-url", scratch_db_url]
    # enough alumni that re-scoring one alone beats a full pass
    assert runner.invoke(cli, [*base, "init", "--demo", "300"]).exit_code == 0
    result = runner.invoke(cli, [*base, "import", "alumni", _write(tmp_path, "a.csv", ALUM.format(id="CLI-1"))])
    assert result.exit_code == 0, result.output
    assert "queued job #" in result.output and "re-score 1 alumnus after importing alumni (a.csv)" in result.output
    listed = json.loads(runner.invoke(cli, [*base, "jobs", "--json"]).output)
    assert listed[0]["status"] == "queued" and listed[0]["params"]["alumni"]
    done = runner.invoke(cli, [*base, "import", "placements", _write(tmp_path, "p.csv", PLACEMENT.format(id="CLI-1")),
                               "--foreground", "--json"])
    assert done.exit_code == 0, done.output
    job = json.loads(done.output)["jobs"][0]
    assert (job["status"], job["result"]["mode"]) == ("done", "incremental")
    best = json.loads(runner.invoke(cli, [*base, "suggest", "relationships", "--alum", "CLI-1", "--top", "1",
                                          "--json"]).output)[0]
    assert best["jp_place"] == "Hanamaki, Iwate"
    again = runner.invoke(cli, [*base, "import", "placements", _write(tmp_path, "p.csv", PLACEMENT.format(id="CLI-1"))])
    assert "queued job" not in again.output  # nothing changed, nothing to re-score
    assert "failed" not in runner.invoke(cli, [*base, "jobs"]).output


def test_jobs_retry_refuses_a_job_that_has_not_failed(runner, scratch_db_url):
    base = ["--database-url", scratch_db_url]
    added = json.loads(runner.invoke(cli, [*base, "jobs", "add", "retrain_partnerships", "--json"]).output)
    result = runner.invoke(cli, [*base, "jobs", "retry", str(added["id"])])
    assert result.exit_code != 0 and "only a failed job can be retried" in result.output


# --- serve ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Just enough of a browser for the site: cookies, the CSRF token, forms and a file upload."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def token(self) -> str:
        page = self.get("/login")
        return page.split('name="csrf-token" content="')[1].split('"')[0]

    def post(self, path: str, fields: dict[str, str], file: tuple[str, str] | None = None) -> str:
        fields = {**fields, "csrf_token": self.token()}
        if file is None:
            body, kind = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, kind = _multipart(fields, file)
        request = urllib.request.Request(self.base + path, data=body, headers={"Content-Type": kind})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.read().decode()
        except urllib.error.HTTPError as exc:  # 422 pages still carry the report
            return exc.read().decode()


def _multipart(fields: dict[str, str], file: tuple[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    name, text = file
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n{text}\r\n--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


@pytest.mark.slow
def test_serve_runs_a_job_worker_that_rescores_a_web_import_and_stops_with_it(runner, scratch_db_url, tmp_path):
    """Also from a working folder that has a ``web`` folder of its own (gunicorn imports from its working folder)."""
    login = "serve.coordinator@example.org"
    added = runner.invoke(cli, ["--database-url", scratch_db_url, "users", "add", "--login", login,
                                "--role", "coordinator", "--password", "a long enough password"])
    assert added.exit_code == 0, added.output
    port = _free_port()
    env = {**os.environ, "JETMATCH_SESSION_COOKIE_SECURE": "false",
           "JETMATCH_INSTANCE_PATH": str(tmp_path / "instance"), "JETMATCH_DATABASE_URL": scratch_db_url}
    log = open(tmp_path / "serve.log", "w")
    # started from a folder that holds another ``web`` package: gunicorn must still serve jetmatch's
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "web").mkdir(parents=True)
    (elsewhere / "web" / "__init__.py").write_text("raise ImportError('not jetmatch')\n")
    serve = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--port", str(port), "--workers", "1"],
                             env=env, stdout=log, stderr=subprocess.STDOUT, cwd=elsewhere)
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                browser.get("/login")
                break
            except OSError:
                assert time.monotonic() < deadline and serve.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        workers = _children(serve.pid)
        assert len(workers) == 2  # the job worker and gunicorn
        browser.post("/login", {"login": login, "password": "a long enough password"})
        browser.post("/import", {"kind": "alumni"}, ("alumni.csv", ALUM.format(id="SERVE-1")))
        page = browser.post("/import", {"kind": "placements"}, ("placements.csv", PLACEMENT.format(id="SERVE-1")))
        assert "Scoring 1 alumnus in the background" in page
        job_url = page.split('data-job-url="')[1].split('"')[0]
        deadline = time.monotonic() + 60  # generous for a busy machine; scripts/bench-freshness times it
        while json.loads(browser.get(job_url))["status"] != "done":
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        suggestions = runner.invoke(cli, ["--database-url", scratch_db_url, "suggest", "relationships",
                                          "--alum", "SERVE-1", "--json"])
        assert json.loads(suggestions.output)[0]["jp_place"] == "Hanamaki, Iwate"
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=90)
        finally:
            if serve.poll() is None:  # fail this test only: a serve left running failed the next one too
                for pid in _children(serve.pid):
                    os.kill(pid, signal.SIGKILL)
                serve.kill()
                serve.wait()
            log.close()
    assert serve.returncode is not None
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline, f"still running after serve stopped: {workers}"
        time.sleep(0.1)
