"""manage.py encrypt_conversations [--session ID ...] [--batch-size N] [--vacuum-full]

Encrypts the items stored as plaintext, written before CONVSTORE_ENCRYPTION_KEYS
was set, with the newest key, as new items are. Without keys it stops with an
error. Items already encrypted are left as they are.

It works through agent_messages in id order, a batch per short transaction that
locks the conversations it touches, so agents keep writing meanwhile and wait
for one batch at most. Only message_data changes: ids, order, branches and
structure rows stay. It prints a line per batch and, at the end, the items and
conversations changed; each conversation changed gets one audit entry (counts
only). Stopped halfway, it is run again and does what is left; a run with
nothing left says so.

On SQLite no plaintext stays behind in the file or its WAL: freed bytes are
overwritten (secure_delete) and the WAL is emptied at the end. PostgreSQL keeps
the previous row versions until VACUUM FULL, which --vacuum-full runs.
"""

from convstore.conversations import encrypt_plaintext_items
from convstore.management.commands._keys import KeysCommand


class Command(KeysCommand):
    help = "Encrypt the items stored as plaintext with the newest key of CONVSTORE_ENCRYPTION_KEYS."
    done_word = "encrypted"
    nothing_to_do = "Nothing to encrypt: every item is already encrypted."

    def items(self, *, session_ids, batch_size):
        return encrypt_plaintext_items(session_ids=session_ids, batch_size=batch_size)
