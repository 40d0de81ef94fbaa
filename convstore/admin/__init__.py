"""Django admin for whoever fixes data.

Every change goes through convstore.conversations, so it is one transaction,
takes the conversation's lock and lands in the audit log with the admin user.
The tables that only follow from others (structure, usage, branches, audit)
are read-only here. Lists stay cheap at 100,000 conversations: no per-row
queries, no full counts, an estimated count for unfiltered huge tables.
"""

from . import conversations, derived, messages, prices, retention  # noqa: F401  (registers the admins)
