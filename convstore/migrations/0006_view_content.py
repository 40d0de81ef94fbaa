"""convstore.view_content: reading message text becomes a permission of its own.

Granted here to every user and group that can read message text today: holders
of a permission that shows it (the dashboard's view and change permissions, the
admin's on messages and on structure rows), so upgrading hides nothing from
anyone. Superusers hold every permission anyway.

Reversed, the grant is taken back from those same holders; a grant of
view_content to anyone else, made by hand, stays.
"""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import migrations

# The permissions that show message text before this migration.
SHOWING_TEXT = (
    "view_agentsession",
    "change_agentsession",
    "view_agentmessage",
    "change_agentmessage",
    "view_messagestructure",
    "change_messagestructure",
)


def _holders(apps):
    """(through model, its column naming the holder) for users and for groups."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    holders = [(Group.permissions.through, "group_id")]
    try:
        User._meta.get_field("user_permissions")
    except FieldDoesNotExist:  # a user model without Django's permissions
        return holders
    return [(User.user_permissions.through, "user_id"), *holders]


def _permissions(apps, alias, codenames):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.using(alias).filter(
        content_type__app_label="convstore", codename__in=codenames
    )


def grant_view_content(apps, schema_editor):
    alias = schema_editor.connection.alias
    showing = list(_permissions(apps, alias, SHOWING_TEXT))
    if not showing:
        return  # a new database: nobody holds anything yet
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Django creates a new permission after the last migration (post_migrate):
    # made here so that it can be granted now.
    content_type, _ = ContentType.objects.using(alias).get_or_create(
        app_label="convstore", model="agentsession"
    )
    view_content, _ = Permission.objects.using(alias).get_or_create(
        content_type=content_type,
        codename="view_content",
        defaults={"name": "Can read message content"},
    )
    for through, holder in _holders(apps):
        rows = through.objects.using(alias)
        holding = set(rows.filter(permission__in=showing).values_list(holder, flat=True))
        granted = set(rows.filter(permission=view_content).values_list(holder, flat=True))
        rows.bulk_create(
            through(**{holder: pk, "permission_id": view_content.pk})
            for pk in sorted(holding - granted)
        )


def take_back_view_content(apps, schema_editor):
    alias = schema_editor.connection.alias
    showing = _permissions(apps, alias, SHOWING_TEXT)
    view_content = _permissions(apps, alias, ["view_content"])
    for through, holder in _holders(apps):
        rows = through.objects.using(alias)
        holding = rows.filter(permission__in=showing).values(holder)
        rows.filter(permission__in=view_content, **{f"{holder}__in": holding}).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("convstore", "0005_audit_encrypt_rekey"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="agentsession",
            options={
                "ordering": ["-updated_at"],
                "permissions": [
                    ("purge_agentsession", "Can purge conversations for good"),
                    ("view_content", "Can read message content"),
                ],
            },
        ),
        migrations.RunPython(grant_view_content, take_back_view_content),
    ]
