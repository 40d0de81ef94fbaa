"""manage.py apply_retention [--dry-run] [--batch-size N]

Applies the retention policies now, in this order:

- trash idle: a live conversation with no activity for CONVSTORE_RETAIN_DAYS
  days moves to the trash (off while the setting is unset);
- purge trash: a conversation in the trash for CONVSTORE_TRASH_DAYS days
  (default 30; "never" keeps the trash) is purged for good;
- TTL expiry: items older than their conversation's TTL are deleted (usage
  rows stay).

A conversation on legal hold is left alone by every rule. The work goes in
small batches, each a short transaction of its own, so agents keep writing
meanwhile; a conversation written to during the run is not trashed. Running it
twice does nothing the second time. Every move, purge and deletion is audited
under the actor "retention", and the run itself is recorded for the storage
page. --dry-run prints what would be done and changes nothing.

Run it nightly (the README gives a cron line and a systemd timer).
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from convstore.conversations import apply_retention
from convstore.conversations.retention import BATCH_SIZE, PURGE_TRASH, TTL_EXPIRY, RuleResult
from convstore.policies import Policies


def policy_lines(policies: Policies) -> list[str]:
    retain = policies.retain_days
    trash = policies.trash_days
    return [
        f"Trash idle conversations: after {retain} days without activity"
        if retain
        else "Trash idle conversations: off (CONVSTORE_RETAIN_DAYS is not set)",
        f"Purge the trash: after {trash} days in the trash"
        if trash
        else "Purge the trash: never (CONVSTORE_TRASH_DAYS=never)",
        "TTL expiry: items older than their conversation's TTL",
    ]


def rule_line(rule: str, result: RuleResult, dry_run: bool) -> str:
    verb = {PURGE_TRASH: "purged", TTL_EXPIRY: "trimmed"}.get(rule, "moved to the trash")
    verb = f"would be {verb}" if dry_run else verb
    line = f"{rule}: {result.conversations} conversation(s) {verb}"
    if rule == TTL_EXPIRY:
        line += f", {result.items} expired item(s)"
    if result.first_ids:
        more = ", …" if result.conversations > len(result.first_ids) else ""
        line += f" (first: {', '.join(result.first_ids)}{more})"
    if result.skipped:
        line += f"; {result.skipped} left alone (changed during the run)"
    return line


class Command(BaseCommand):
    help = "Apply the retention policies: trash idle conversations, purge the trash, expire items."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be done; change nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Conversations per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        report = apply_retention(dry_run=dry_run, batch_size=batch_size)
        heading = "Retention (dry run: nothing changed)" if dry_run else "Retention"
        self.stdout.write(heading)
        for line in policy_lines(report.policies):
            self.stdout.write(f"  {line}")
        for rule, result in report.results.items():
            self.stdout.write(rule_line(rule, result, dry_run))
