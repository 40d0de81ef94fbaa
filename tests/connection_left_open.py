"""Not collected with the suite: test_test_databases.py runs it in a pytest of its own.

Agent code run from plain asyncio code, leaving its connection open on the
sync thread, as nothing makes it close it.
"""

import asyncio

import pytest

from convstore.session import DjangoSession
from tests.session_samples import user


@pytest.mark.django_db(transaction=True)
def test_agent_code_leaves_its_connection_open_on_the_sync_thread():
    asyncio.run(DjangoSession("left-open").add_items([user("Hello")]))
