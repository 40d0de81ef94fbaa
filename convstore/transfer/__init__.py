"""Moving conversations between our database and the SDK's own SQLite files.

Import reads a file written by the SDK's SQLiteSession or AdvancedSQLiteSession
(opened read-only, so the file is never changed) and stores each conversation
through conversations.import_conversation. Export lets the SDK itself create
its schema in a new file, then fills it with our rows, so the SDK's
AdvancedSQLiteSession opens it and carries on.
"""

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
    "export_conversation_sqlite",
    "export_sdk_database",
    "export_sqlite_bytes",
    "exportable_ids",
    "import_sdk_database",
    "read_sdk_database",
]
