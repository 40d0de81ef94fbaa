"""Every write to a conversation: one function each, one transaction each.

DjangoSession, the dashboard, the admin and the management commands all write
through this package. Each write locks the conversation's agent_sessions row first
(SELECT ... FOR UPDATE on PostgreSQL; on SQLite every transaction is IMMEDIATE,
which takes the database's write lock at BEGIN), so concurrent writers queue
and sequence numbers are assigned without gaps or duplicates.

Audited (an AuditEntry naming the user, or without one "agent" unless the
caller gives another label): fork, set_active_branch, delete_branch, clear,
trash, restore, purge, place_hold, lift_hold, set_title, edit_message,
recompute_structure, reprice_usage, import_conversation, save_price,
delete_price, hard_delete (as trash and purge), copy_conversation, and (one entry
per conversation changed, labelled "command") encrypt_plaintext_items and
rekey_items, which work in batches of their own transactions; record_backup
(labelled "command"); apply_retention's moves, purges and deletions of expired
items (labelled "retention"); and, through record_content_read(s) and
record_bulk_export, a person's reads of message text; through
record_login_lockout, logins refused after too many failures. bulk_apply runs trash,
restore or purge over many conversations, each audited with the bulk action's
shared id. Not audited,
as they run on every agent turn: append_items, pop_item, record_usage and
adopt_unstructured_messages and set_ttl; nor set_metadata or seed_default_prices.

A "position" is what a session object holds: the branch it writes to and the
clear generation it last saw. When another writer has cleared the conversation
since, the position falls back to main, as in the SDK.
"""

from .backups import record_backup
from .base import (
    BRANCH_NAME_MAX_LENGTH,
    ConversationError,
    ConversationHeld,
    ConversationInTrash,
    ConversationNotFound,
    Position,
    TurnTrimmed,
    check_branch_name,
    check_session_id,
)
from .branches import check_branch, delete_branch, fork, set_active_branch
from .bulk import BULK_WRITES, BulkOutcome, bulk_apply, new_bulk, record_bulk_export
from .copies import copy_conversation
from .history import (
    adopt_unstructured_messages,
    append_items,
    check_max_messages,
    clear,
    pop_item,
)
from .imports import import_conversation
from .keys import (
    KeyRun,
    encrypt_plaintext_items,
    rekey_items,
    truncate_sqlite_wal,
    vacuum_full_messages,
)
from .logins import record_login_lockout
from .metadata import METADATA_MAX_BYTES, check_metadata, set_metadata
from .reads import (
    CONTENT_PERMISSION,
    READ_KINDS,
    READ_REPEAT_WINDOW,
    record_content_read,
    record_content_reads,
)
from .repairs import (
    DERIVED_FIELDS,
    check_sdk_item,
    delete_price,
    edit_message,
    recompute_structure,
    save_price,
    seed_default_prices,
    set_title,
)
from .retention import (
    HOLD_PERMISSION,
    RETENTION_ACTOR,
    RetentionReport,
    apply_retention,
    lift_hold,
    place_hold,
    set_ttl,
)
from .trash import PURGE_PERMISSION, hard_delete, purge, restore, trash
from .usage import COST_STEP, record_usage, reprice_usage

__all__ = [
    "BRANCH_NAME_MAX_LENGTH",
    "BULK_WRITES",
    "CONTENT_PERMISSION",
    "COST_STEP",
    "DERIVED_FIELDS",
    "HOLD_PERMISSION",
    "METADATA_MAX_BYTES",
    "PURGE_PERMISSION",
    "READ_KINDS",
    "READ_REPEAT_WINDOW",
    "RETENTION_ACTOR",
    "BulkOutcome",
    "ConversationError",
    "ConversationHeld",
    "ConversationInTrash",
    "ConversationNotFound",
    "KeyRun",
    "Position",
    "RetentionReport",
    "TurnTrimmed",
    "adopt_unstructured_messages",
    "append_items",
    "apply_retention",
    "bulk_apply",
    "check_branch",
    "check_branch_name",
    "check_max_messages",
    "check_metadata",
    "check_sdk_item",
    "check_session_id",
    "clear",
    "copy_conversation",
    "delete_branch",
    "delete_price",
    "edit_message",
    "encrypt_plaintext_items",
    "fork",
    "hard_delete",
    "import_conversation",
    "lift_hold",
    "new_bulk",
    "place_hold",
    "pop_item",
    "purge",
    "recompute_structure",
    "record_backup",
    "record_bulk_export",
    "record_content_read",
    "record_content_reads",
    "record_login_lockout",
    "record_usage",
    "rekey_items",
    "reprice_usage",
    "restore",
    "save_price",
    "seed_default_prices",
    "set_active_branch",
    "set_metadata",
    "set_title",
    "set_ttl",
    "trash",
    "truncate_sqlite_wal",
    "vacuum_full_messages",
]
