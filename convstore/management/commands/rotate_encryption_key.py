"""manage.py rotate_encryption_key [--session ID ...] [--batch-size N] [--vacuum-full]

Re-encrypts every item that is not under the first (newest) key of
CONVSTORE_ENCRYPTION_KEYS with it. Each item keeps its token's time
(MultiFernet.rotate), so a TTL still counts from when it was first written.
Items under the newest key are left as they are, byte for byte; so are
plaintext items (encrypt_conversations seals those). Afterwards the other keys
can be removed from the setting.

An item that no configured key opens stops it with an error naming the
conversation; the batch holding it is left unchanged, the batches before it
stay done, and a run once the key is set does the rest.

Batches, locking, progress, audit entries, running again, SQLite's freed bytes
and WAL, and PostgreSQL's --vacuum-full: as encrypt_conversations.
"""

from convstore import encryption
from convstore.conversations import rekey_items
from convstore.encryption import SETTING
from convstore.management.commands._keys import KeysCommand, plural


class Command(KeysCommand):
    help = "Re-encrypt every item not under the newest key of CONVSTORE_ENCRYPTION_KEYS with it."
    done_word = "re-encrypted"
    nothing_to_do = "Nothing to re-encrypt: every encrypted item is under the newest key."

    def items(self, *, session_ids, batch_size):
        return rekey_items(session_ids=session_ids, batch_size=batch_size)

    def show_summary(self, run, sessions):
        super().show_summary(run, sessions)
        if len(encryption.master_keys()) > 1:
            self.stdout.write(self.older_keys_note(named_only=bool(sessions)))
        if run.plaintext:
            self.stdout.write(
                self.style.WARNING(
                    f"{plural(run.plaintext, 'item')} stored as plaintext, written before keys"
                    " were set: run encrypt_conversations."
                )
            )

    def older_keys_note(self, *, named_only: bool) -> str:
        if named_only:
            return (
                f"The conversations named are under the first key of {SETTING} alone: the"
                " other keys can be removed once every conversation is."
            )
        return (
            f"Every encrypted item is under the first key of {SETTING}: the other keys"
            " can now be removed."
        )
