"""An agent process for the backup tests: appends to one conversation until told to stop.

python tests/backup_writer.py SESSION_ID STOP_FILE
Prints the number of each item once its append has committed, so the test knows what
was committed before the backup began. DATABASE_URL names the database.
"""

import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convstore.settings")
os.environ.setdefault("SECRET_KEY", "convstore-tests-only")

import django

django.setup()

from convstore.session import DjangoSession  # noqa: E402


async def main(session_id: str, stop: Path) -> None:
    session = DjangoSession(session_id)
    number = 0
    while not stop.exists():
        await session.add_items([{"role": "user", "content": f"{session_id} item {number}"}])
        print(number, flush=True)
        number += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
