"""manage.py serve: the production server (gunicorn with uvicorn's ASGI workers)."""

import errno
import os
import socket

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from gunicorn.app.base import BaseApplication


class Command(BaseCommand):
    help = (
        "Serve convstore for production: gunicorn with uvicorn ASGI workers, DEBUG off, "
        "on $HOST:$PORT (127.0.0.1:8000) with $WEB_CONCURRENCY workers (2). "
        "Needs SECRET_KEY and ALLOWED_HOSTS."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
        parser.add_argument("--port", default=os.environ.get("PORT") or "8000")
        parser.add_argument("--workers", default=os.environ.get("WEB_CONCURRENCY") or "2")
        parser.add_argument(
            "--migrate", action="store_true", help="apply pending migrations before starting"
        )
        parser.add_argument(
            "--collectstatic", action="store_true", help="collect the static files before starting"
        )

    def handle(self, *args, host, port, workers, migrate, collectstatic, **options):
        if not os.environ.get("DATABASE_URL"):
            database = settings.DATABASES["default"]["NAME"]
            self.stdout.write(f"DATABASE_URL is not set: using the SQLite file {database}")
        port = whole_number("PORT", port, 1, 65535)
        workers = whole_number("WEB_CONCURRENCY", workers, 1, 64)
        check_production_settings()
        check_port_is_free(host, port)
        check_database_answers()
        # Prints what `check --deploy` warns of (SECURE_SSL_REDIRECT=0, say); errors stop it.
        call_command("check", deploy=True, fail_level="ERROR")
        if migrate:
            call_command("migrate", interactive=False, verbosity=1)
        if collectstatic:
            call_command("collectstatic", interactive=False, verbosity=1)
        check_static_files_collected()
        # Workers open their own connections; none may be shared across fork().
        connections.close_all()
        self.stdout.write(f"convstore: serving on http://{host}:{port} with {workers} worker(s)")
        self.stdout.flush()
        Server(host=host, port=port, workers=workers).run()


def whole_number(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise CommandError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return number


def check_production_settings() -> None:
    if settings.DEBUG:
        raise CommandError(
            "DEBUG is on: serve runs only with DEBUG off "
            "(unset DEBUG; `make run` is for development)"
        )
    if not settings.ALLOWED_HOSTS:
        raise CommandError(
            "Set ALLOWED_HOSTS: the host names this server answers to, comma-separated"
        )


def check_port_is_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"HOST {host!r} is not an address of this machine: {exc}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {host} is already in use: stop what listens there "
                    "or set PORT to another port"
                ) from None
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}") from None


def check_database_answers() -> None:
    database = settings.DATABASES["default"]
    where = database.get("HOST") or database["NAME"]
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"The database ({where}) does not answer: {reason}") from None


def check_static_files_collected() -> None:
    """Without the manifest every page would fail: its hashed names come from there."""
    manifest = getattr(staticfiles_storage, "read_manifest", None)
    if manifest is not None and manifest() is None:
        raise CommandError(
            f"The static files are not collected in STATIC_ROOT ({settings.STATIC_ROOT}): "
            "run manage.py collectstatic, or serve --collectstatic as `make serve` does"
        )


class Server(BaseApplication):
    """gunicorn, configured here rather than by its command line."""

    def __init__(self, *, host: str, port: int, workers: int):
        self.options = {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "worker_class": "uvicorn_worker.UvicornWorker",
            "errorlog": "-",
            "loglevel": "warning",
            # Behind a proxy: FORWARDED_ALLOW_IPS names the proxies whose
            # X-Forwarded-For gives the client's address (127.0.0.1 by default).
            "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1",
        }
        super().__init__()

    def load_config(self):
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from convstore.asgi import application

        return application
