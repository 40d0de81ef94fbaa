.PHONY: run serve test test-sqlite test-postgres install lint bench

# uv itself comes from pip when the machine lacks it.
UV := $(shell command -v uv 2>/dev/null || (python3 -m pip install --quiet uv >&2 && echo "python3 -m uv"))
PG_URL ?= postgres://root@127.0.0.1:5432/root

install:
	$(UV) sync --frozen

run: install
	DEBUG=1 $(UV) run python manage.py migrate --noinput
	DEBUG=1 $(UV) run python manage.py seed_demo --if-empty
	DEBUG=1 $(UV) run python manage.py login_link
	DEBUG=1 $(UV) run python manage.py runserver 127.0.0.1:8000

# Production: DEBUG off, gunicorn with uvicorn workers on $$HOST:$$PORT (127.0.0.1:8000),
# $$WEB_CONCURRENCY workers (2). Needs SECRET_KEY and ALLOWED_HOSTS.
serve: install
	$(UV) run python manage.py serve --migrate --collectstatic

# The whole suite on SQLite, then on PostgreSQL when DATABASE_URL is set or a
# server answers on 127.0.0.1:5432 (REQUIRE_POSTGRES=1 makes its absence an error).
test: install
	$(MAKE) test-sqlite
	@if [ -n "$$DATABASE_URL" ]; then \
		$(MAKE) test-postgres PG_URL="$$DATABASE_URL"; \
	elif $(UV) run python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		$(MAKE) test-postgres; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but does not answer on 127.0.0.1:5432"; exit 1; \
	else \
		echo "No PostgreSQL on 127.0.0.1:5432: tests ran on SQLite only."; \
	fi

test-sqlite:
	env -u DATABASE_URL $(UV) run pytest

test-postgres:
	DATABASE_URL="$(PG_URL)" $(UV) run pytest

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .

bench: install
	$(UV) run python bench/session_bench.py
