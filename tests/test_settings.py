"""Settings read from the environment."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from convstore.settings import database_config


def test_postgresql_prepares_after_five_runs_by_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    assert database_config()["OPTIONS"] == {"prepare_threshold": 5}


@pytest.mark.parametrize(("value", "threshold"), [("off", None), ("OFF", None), (" 2 ", 2)])
def test_the_prepare_threshold_can_be_set_or_turned_off(monkeypatch, value, threshold):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", value)
    assert database_config()["OPTIONS"] == {"prepare_threshold": threshold}


def test_a_prepare_threshold_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", "sometimes")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARE_THRESHOLD must be"):
        database_config()
