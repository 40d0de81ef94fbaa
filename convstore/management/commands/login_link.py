from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from convstore.login_links import login_link_path


class Command(BaseCommand):
    """Print a one-time login link for a staff superuser, creating it if needed.

    A created user has no usable password: log in with the link, then set one
    with `manage.py changepassword USERNAME` if you want one.
    """

    help = "Print a one-time login link (creates the superuser USERNAME if missing)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, username: str, base_url: str, **options):
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            **{user_model.USERNAME_FIELD: username},
            defaults={"is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            self.stdout.write(f"Created superuser '{username}' (no password set).")
        link = base_url.rstrip("/") + login_link_path(user)
        self.stdout.write(
            self.style.SUCCESS(f"Log in as '{username}': {link}")
            + "\n(The link works once. For a password: manage.py changepassword "
            + username
            + ")"
        )
