"""Loaded by pytest (-p) before Django is configured: a test-only secret key."""

import os

os.environ.setdefault("SECRET_KEY", "convstore-tests-only")
