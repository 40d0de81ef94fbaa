"""The record of apply_retention's runs: read-only."""

from django.contrib import admin

from ..models import RetentionRun
from .common import BigTableAdmin


@admin.register(RetentionRun)
class RetentionRunAdmin(BigTableAdmin):
    list_display = ("started_at", "finished_at", "dry_run", "retain_days", "trash_days", "counts")
    list_filter = ("dry_run",)
    ordering = ("-started_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
