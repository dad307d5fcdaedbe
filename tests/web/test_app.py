"""The app factory: configuration, secrets, cookies, headers, CSRF, error pages, rate limit."""

from conftest import csrf_token, login

import jm_world
from web import create_app


def test_secret_key_is_generated_once_in_the_instance_folder(tmp_path, monkeypatch, db_url):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("JETMATCH_SECRET_KEY", raising=False)
    first = create_app({"DATABASE_URL": db_url})
    second = create_app({"DATABASE_URL": db_url})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").read_text() == first.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path):
    from matcher import db

    path = tmp_path / "fresh.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600


def test_config_comes_from_prefixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("JETMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("JETMATCH_SECRET_KEY", "from-env")
    monkeypatch.setenv("JETMATCH_PAGE_SIZE", "7")
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'env.sqlite'}"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PAGE_SIZE"] == 7


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_secure_httponly_and_samesite_by_default(db_url, tmp_path, monkeypatch, world,
                                                                   connection):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path))
    app = create_app({"DATABASE_URL": db_url, "DB_CONNECTION": connection, "SECRET_KEY": "x"})
    client = app.test_client()
    response = login(client, world.logins["coordinator"])
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_csrf_token_are_refused(client, world):
    response = client.post("/login", data={"login": world.logins["coordinator"], "password": jm_world.PASSWORD})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_login_with_wrong_password_is_refused_and_logout_works(client, world):
    assert login(client, world.logins["coordinator"], "wrong password").status_code == 401
    assert login(client, world.logins["coordinator"]).headers["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302


def test_login_is_rate_limited_per_account(client, world):
    codes = [login(client, world.logins["coordinator"], "wrong password").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429


def test_next_parameter_cannot_redirect_off_site(client, world):
    response = client.post("/login", data={"login": world.logins["coordinator"], "password": jm_world.PASSWORD,
                                           "next": "https://evil.example/", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_friendly_404_and_500_without_stack_traces(app, client, as_role):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    as_role("coordinator")
    missing = client.get("/relationships/999999999")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)

    broken = client.get("/boom")
    body = broken.get_data(as_text=True)
    assert broken.status_code == 500
    assert "Something went wrong" in body and "secret internals" not in body and "Traceback" not in body


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json and "error" in response.get_json()


def test_pages_work_without_javascript_but_the_stylesheet_is_served(client):
    with client.get("/static/style.css") as css:
        assert css.status_code == 200 and "max-width" in css.get_data(as_text=True)
    assert "<script" not in client.get("/login").get_data(as_text=True)


def test_autocomplete_leaves_the_session_cookie_alone(as_role):
    # A look-up that races a form's POST must not put back the cookie it was sent with
    # (that would drop the POST's flashed message); ordinary pages still refresh it.
    client = as_role("alumnus_daniel")
    quiet = client.get("/places/suggest?q=Ishidor")
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    page = client.get("/me")
    assert page.status_code == 200 and "session=" in page.headers.get("Set-Cookie", "")
