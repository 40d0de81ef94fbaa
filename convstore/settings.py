"""Settings for convstore, read from the environment.

DATABASE_URL   default: a SQLite file under var/
SECRET_KEY     required unless DEBUG is on
DEBUG          "1"/"true" to enable (default off)
ALLOWED_HOSTS  comma-separated (default: localhost names when DEBUG is on)
CONVSTORE_RETAIN_DAYS, CONVSTORE_TRASH_DAYS  retention policies (convstore.policies)

The security settings (SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, ...) take
the environment variable of the same name; with DEBUG off they default to
the safe side.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from convstore.encryption import parse_master_keys
from convstore.policies import DEFAULT_TRASH_DAYS, parse_days

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {minimum}, not {value!r}"
        )
    return number


def env_origins(name: str) -> list[str]:
    origins = env_list(name, [])
    for origin in origins:
        if not origin.startswith(("https://", "http://")):
            raise ImproperlyConfigured(
                f"{name} takes origins with their scheme (https://ops.example.com), not {origin!r}"
            )
    return origins


def env_proxy_header(name: str) -> tuple[str, str] | None:
    """ "X-Forwarded-Proto: https" -> ("HTTP_X_FORWARDED_PROTO", "https")."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, colon, expected = value.partition(":")
    header, expected = header.strip(), expected.strip()
    if not colon or not header or not expected or " " in header:
        raise ImproperlyConfigured(
            f"{name} must be a header and the value it has over HTTPS, "
            f"such as 'X-Forwarded-Proto: https', not {value!r}"
        )
    return "HTTP_" + header.upper().replace("-", "_"), expected


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "convstore-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "convstore",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "convstore.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the failed logins of every view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "convstore.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "convstore.wsgi.application"
ASGI_APPLICATION = "convstore.asgi.application"


def test_database_name() -> str:
    # One test database per test run, so runs side by side do not collide.
    return os.environ.get("TEST_DATABASE_NAME") or f"test_convstore_{os.getpid()}"


def prepare_threshold() -> int | None:
    """Runs of a statement on a connection before psycopg prepares it; None: never.

    Only the fixed statements of appends and agent reads can be prepared
    (convstore.sql); Django's own cursors bind client-side and never are.
    "off" is for a connection pooler that cannot keep prepared statements.
    """
    value = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip().lower()
    if value == "off":
        return None
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD must be a number of runs or 'off', not {value!r}"
        ) from None


# Many writers (agents, the dashboard, tests' threads) share one SQLite file:
# WAL lets readers run beside the writer, IMMEDIATE takes the write lock at
# BEGIN so two writers queue instead of failing mid-transaction. The writes in
# convstore.conversations count on both, so a URL may not change them.
SQLITE_REQUIRED_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def merged_options(given: dict, defaults: dict, required: dict) -> dict:
    """The URL's options over our defaults; a URL may not change a required option."""
    for name, value in required.items():
        if given.get(name, value) != value:
            raise ImproperlyConfigured(
                f"DATABASE_URL may not set {name}: convstore needs {name}={value!r}"
            )
    return {**defaults, **given, **required}


def database_config() -> dict:
    """DATABASES["default"] from DATABASE_URL, keeping the options its query string gives.

    Ours are defaults (SQLite's 30 s busy timeout, PostgreSQL's prepare
    threshold): `?timeout=5` or `?prepare_threshold=0` in the URL wins, and
    `?sslmode=require`, `?connect_timeout=10` and the like pass through.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        (BASE_DIR / "var").mkdir(exist_ok=True)
        url = f"sqlite:///{BASE_DIR / 'var' / 'convstore.sqlite3'}"
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = merged_options(
            config.get("OPTIONS", {}), {"timeout": 30}, SQLITE_REQUIRED_OPTIONS
        )
        config["TEST"] = {"NAME": str(BASE_DIR / "var" / f"{test_database_name()}.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["OPTIONS"] = merged_options(
            config.get("OPTIONS", {}), {"prepare_threshold": prepare_threshold()}, {}
        )
        config["TEST"] = {"NAME": test_database_name()}
    else:
        # Not the URL itself: it may hold a password.
        scheme = url.partition(":")[0]
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// or sqlite:/// URL, not {scheme}://..."
        )
    return config


DATABASES = {"default": database_config()}

# Master keys for items encrypted at rest, newest first (convstore.encryption).
CONVSTORE_ENCRYPTION_KEYS = parse_master_keys(os.environ.get("CONVSTORE_ENCRYPTION_KEYS", ""))

# Retention policies, in days (convstore.policies); apply_retention applies them.
CONVSTORE_RETAIN_DAYS = parse_days(
    "CONVSTORE_RETAIN_DAYS", os.environ.get("CONVSTORE_RETAIN_DAYS"), default=None, never=False
)
CONVSTORE_TRASH_DAYS = parse_days(
    "CONVSTORE_TRASH_DAYS",
    os.environ.get("CONVSTORE_TRASH_DAYS"),
    default=DEFAULT_TRASH_DAYS,
    never=True,
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "var" / "staticfiles")
# Hashed names and compressed copies, made by collectstatic; whitenoise serves
# them with a year-long cache header, since a changed file gets a new name.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "analytics:overview"
LOGOUT_REDIRECT_URL = "login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- HTTPS and cookies: Django's setting names, read from the environment ----

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")
# Behind a proxy that ends TLS: the header it sets, "X-Forwarded-Proto: https".
SECURE_PROXY_SSL_HEADER = env_proxy_header("SECURE_PROXY_SSL_HEADER")

# --- Content-Security-Policy (django-csp) -------------------------------------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # No inline script, no eval: the pages carry data in json_script tags.
        "script-src": ["'self'"],
        # htmx's own indicator style is turned off (base.html); its CSS is in dashboard.css.
        "style-src": ["'self'"],
        # The empty favicon is a data: URL.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Throttled logins (django-axes) ------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After this many failures for one username, or from one address, logins are
# refused for the cool-off time; a success does not forgive earlier failures.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "convstore.logins.lockout_response"
AXES_RESET_ON_SUCCESS = False
# A refused attempt during the cool-off does not start it again, so the
# message's time holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
