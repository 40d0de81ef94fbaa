"""HTTPS, HSTS and cookie settings from the environment, under Django's setting names."""

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from convstore.settings import env_bool, env_int, env_origins, env_proxy_header
from tests.test_serve import PROJECT_DIR, STRONG_KEY, clean_environment, manage

SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_REDIRECT_EXEMPT",
]


def settings_with(**variables: str) -> dict:
    """The security settings as a fresh process reads them from these variables."""
    script = (
        "import json; from convstore import settings as s; "
        f"print(json.dumps({{name: getattr(s, name) for name in {SECURITY_SETTINGS!r}}}))"
    )
    env = clean_environment(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="ops.example.com", **variables)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_warns_of_nothing_with_only_the_secret_key_and_allowed_hosts():
    env = clean_environment(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="ops.example.com")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr == ""


def test_with_debug_off_the_defaults_are_the_safe_side():
    assert settings_with() == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_TRUSTED_ORIGINS": [],
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$"],
    }


def test_with_debug_on_nothing_asks_for_https():
    values = settings_with(DEBUG="1")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False


def test_each_setting_comes_from_the_variable_of_its_name():
    values = settings_with(
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_PRELOAD="false",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="off",
        CSRF_TRUSTED_ORIGINS="https://ops.example.com, https://*.example.org",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://ops.example.com", "https://*.example.org"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_check_deploy_names_the_redirect_once_it_is_turned_off():
    env = clean_environment(
        SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="ops.example.com", SECURE_SSL_REDIRECT="0"
    )
    result = manage("check", "--deploy", env=env)
    assert "security.W008" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "value", "read", "message"),
    [
        ("SECURE_SSL_REDIRECT", "maybe", env_bool, "SECURE_SSL_REDIRECT must be a boolean"),
        ("SECURE_HSTS_SECONDS", "-1", env_int, "SECURE_HSTS_SECONDS must be a whole number"),
        ("CSRF_TRUSTED_ORIGINS", "ops.example.com", env_origins, "CSRF_TRUSTED_ORIGINS takes"),
        ("SECURE_PROXY_SSL_HEADER", "https", env_proxy_header, "SECURE_PROXY_SSL_HEADER must"),
        ("SECURE_PROXY_SSL_HEADER", "X Forwarded: https", env_proxy_header, "must be a header"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, name, value, read, message):
    monkeypatch.setenv(name, value)
    arguments = (name, 0) if read is env_int else (name, False) if read is env_bool else (name,)
    with pytest.raises(ImproperlyConfigured, match=message):
        read(*arguments)


# --- the redirect, in a request ------------------------------------------------


@pytest.fixture
def https_required(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000


def test_plain_http_is_redirected_to_https(client, https_required, db):
    response = client.get("/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_the_health_check_answers_over_plain_http(client, https_required, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response


def test_https_gets_the_page_with_hsts(client, https_required, db):
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_behind_a_proxy_its_header_says_the_request_came_over_https(
    client, https_required, settings, db
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/login/", headers={"x-forwarded-proto": "https"}).status_code == 200
    assert client.get("/login/", headers={"x-forwarded-proto": "http"}).status_code == 301
