"""Moving conversations between our database and the SDK's own SQLite files.

Import reads a file written by the SDK's SQLiteSession or AdvancedSQLiteSession
(opened read-only, so the file is never changed) and stores each conversation
through conversations.import_conversation. Export lets the SDK itself create
its schema in a new file, then fills it with our rows, so the SDK's
AdvancedSQLiteSession opens it and carries on.

Items the SDK's EncryptedSession wrote are opened on import (with the file's
key, or this server's) and sealed again under this server's keys; with keys
set, an export writes envelopes the SDK's EncryptedSession opens with the
newest key, or plaintext when asked to decrypt.
"""

from .jsonl import conversation_record, export_jsonl_lines
from .reading import (
    BASE_COLUMNS,
    SQLITE_HEADER,
    STRUCTURE_COLUMNS,
    ImportReport,
    SdkConversation,
    SdkMessage,
    SdkStructureRow,
    SdkUsageRow,
    TransferError,
    import_sdk_database,
    open_encrypted_items,
    read_sdk_database,
)
from .writing import (
    INSERTS,
    export_conversation_sqlite,
    export_sdk_database,
    export_sqlite_bytes,
    exportable_ids,
)

__all__ = [
    "BASE_COLUMNS",
    "INSERTS",
    "SQLITE_HEADER",
    "STRUCTURE_COLUMNS",
    "ImportReport",
    "SdkConversation",
    "SdkMessage",
    "SdkStructureRow",
    "SdkUsageRow",
    "TransferError",
    "conversation_record",
    "export_conversation_sqlite",
    "export_jsonl_lines",
    "export_sdk_database",
    "export_sqlite_bytes",
    "exportable_ids",
    "import_sdk_database",
    "open_encrypted_items",
    "read_sdk_database",
]
