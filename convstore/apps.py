from django.apps import AppConfig


class ConvstoreConfig(AppConfig):
    name = "convstore"
    verbose_name = "Conversations"
