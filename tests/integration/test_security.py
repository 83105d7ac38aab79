"""App-wide guarantees: CSRF on every form, server-side role checks, safe configuration."""

from __future__ import annotations

import pytest

from network.config import ConfigurationError, TestConfig
from tests.conftest import TEST_PASSWORD

ROLES = ("provider", "trainee", "coordinator", "admin")


def _role_protected_rules(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "required_roles", None)
        if roles:
            yield rule, roles


def _url_for(rule):
    values = {arg: 1 for arg in rule.arguments}
    for arg, converter in rule._converters.items():
        if converter.__class__.__name__ in ("UnicodeConverter", "PathConverter"):
            values[arg] = "x"
    return rule.build(values)[1] if hasattr(rule, "build") else rule.rule


def test_every_role_protected_view_refuses_anonymous_and_wrong_roles(app, make_user):
    rules = list(_role_protected_rules(app))
    users = {role: make_user(role) for role in ROLES}
    checked = 0
    for rule, roles in rules:
        url = _url_for(rule)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        anonymous = app.test_client().open(url, method=method)
        assert anonymous.status_code == 302, (rule.rule, anonymous.status_code)
        assert "/konto/anmelden" in anonymous.headers["Location"]
        for role, user in users.items():
            if role in roles or role == "admin":
                continue
            client = app.test_client()
            client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
            response = client.open(url, method=method)
            assert response.status_code == 403, (rule.rule, role, response.status_code)
            checked += 1
    assert checked >= 0


def _csrf_exempt(app, endpoint: str) -> bool:
    from network.extensions import csrf

    view = app.view_functions[endpoint]
    name = f"{view.__module__}.{view.__name__}"
    blueprint = endpoint.split(".")[0]
    return name in csrf._exempt_views or blueprint in csrf._exempt_blueprints


def test_posts_without_csrf_token_are_refused(app, make_user):
    user = make_user("provider")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post(
            "/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 400
        assert "Formular" in response.get_data(as_text=True)
        # Every POST route is protected, not only the forms we remember; the only exceptions
        # are declared explicitly (e.g. RFC 8058 one-click unsubscribe, signed by its token).
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or _csrf_exempt(app, rule.endpoint):
                continue
            status = client.post(_url_for(rule)).status_code
            assert status == 400, (rule.rule, status)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_production_refuses_the_development_secret(tmp_path):
    from network import create_app

    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(NETWORK_ENV="production", INSTANCE_PATH=str(tmp_path), SECRET_KEY=None)
    with pytest.raises(ConfigurationError):
        create_app(settings)
    settings["SECRET_KEY"] = "dev-" + "x" * 60
    with pytest.raises(ConfigurationError):
        create_app(settings)
    settings["SECRET_KEY"] = "a-real-random-production-secret-of-sufficient-length"
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_generates_and_keeps_a_secret(tmp_path):
    from network import create_app

    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(NETWORK_ENV="development", INSTANCE_PATH=str(tmp_path), SECRET_KEY=None)
    first = create_app(dict(settings)).config["SECRET_KEY"]
    second = create_app(dict(settings)).config["SECRET_KEY"]
    assert first == second and first.startswith("dev-")
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_error_pages(client):
    assert client.get("/gibt-es-nicht").status_code == 404
    assert client.get("/api/v1/gibt-es-nicht").is_json
