"""Finding 6 of issue 12: wrong passwords are counted in the database, per account and per
address, so every worker process holds the same line, and one guessed-at account does not
lock out the others behind the same address."""

from conftest import app_config, csrf_token
from web import create_app


def _try(client, login_name, password, ip="203.0.113.9"):
    return client.post("/login", data={"login": login_name, "password": password, "csrf_token": csrf_token(client)},
                       environ_base={"REMOTE_ADDR": ip})


def test_ten_wrong_passwords_lock_the_account_not_the_address(client, world):
    codes = [_try(client, world.logins["committee"], "wrong password").status_code for _ in range(10)]
    assert codes == [401] * 10
    refused = _try(client, world.logins["committee"], "correct horse battery")  # even the right one now
    assert refused.status_code == 429
    assert "try again in 15 minutes" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 14 * 60
    other = _try(client, world.logins["coordinator"], "correct horse battery")  # same address, other account
    assert other.status_code == 302


def test_the_count_is_shared_by_every_worker(db_url, connection, outbox, gazetteer, world, tmp_path, monkeypatch):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    workers = [create_app(app_config(db_url, DB_CONNECTION=connection, MAIL_TRANSPORT=outbox, GAZETTEER=gazetteer))
               for _ in range(2)]
    clients = [w.test_client() for w in workers]
    for n in range(10):  # alternate between the two processes' apps, as a load balancer would
        assert _try(clients[n % 2], world.logins["committee"], "wrong password").status_code == 401
    assert _try(clients[0], world.logins["committee"], "wrong password").status_code == 429
    assert _try(clients[1], world.logins["committee"], "wrong password").status_code == 429


def test_an_address_spraying_many_accounts_is_stopped(app, client, world):
    app.config["LOGIN_IP_LIMIT"] = 5
    for n in range(5):
        assert _try(client, f"nobody{n}@example.org", "guess", ip="198.51.100.4").status_code == 401
    assert _try(client, world.logins["coordinator"], "guess", ip="198.51.100.4").status_code == 429
    assert _try(client, world.logins["coordinator"], "correct horse battery", ip="198.51.100.5").status_code == 302
