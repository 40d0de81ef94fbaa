from django.apps import AppConfig


class ConvstoreConfig(AppConfig):
    name = "convstore"
    verbose_name = "Conversations"

    def ready(self):
        from convstore import logins  # noqa: F401  (connects the lockout audit)
