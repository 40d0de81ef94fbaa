from django.urls import path, register_converter

from . import bulk_views, retention_views, views
from .converters import ConversationIdConverter

app_name = "analytics"

register_converter(ConversationIdConverter, "conversation_id")

# Conversation ids are free text: the converter writes each as one path
# segment that browsers leave alone (see analytics/converters.py).
urlpatterns = [
    path("", views.overview, name="overview"),
    path("conversations/", views.conversation_list, name="conversations"),
    path("conversations/<conversation_id:session_id>/", views.conversation, name="conversation"),
    path("compare/<conversation_id:session_id>/", views.compare, name="compare"),
    path(
        "changed/<conversation_id:session_id>/",
        views.conversation_changed,
        name="conversation_changed",
    ),
    path(
        "export/json/<conversation_id:session_id>/",
        views.export,
        {"fmt": "json"},
        name="export_json",
    ),
    path(
        "export/csv/<conversation_id:session_id>/", views.export, {"fmt": "csv"}, name="export_csv"
    ),
    path("actions/fork/<conversation_id:session_id>/", views.fork, name="fork"),
    path("actions/copy/<conversation_id:session_id>/", views.copy_conversation, name="copy"),
    path(
        "actions/make-active/<conversation_id:session_id>/", views.make_active, name="make_active"
    ),
    path(
        "actions/delete-branch/<conversation_id:session_id>/",
        views.delete_branch,
        name="delete_branch",
    ),
    path("actions/trash/<conversation_id:session_id>/", views.trash, name="trash_conversation"),
    path("actions/restore/<conversation_id:session_id>/", views.restore, name="restore"),
    path("actions/purge/<conversation_id:session_id>/", views.purge, name="purge"),
    path("actions/reprice/<conversation_id:session_id>/", views.reprice, name="reprice"),
    path(
        "actions/hold/<conversation_id:session_id>/",
        retention_views.place_hold,
        name="place_hold",
    ),
    path(
        "actions/lift-hold/<conversation_id:session_id>/",
        retention_views.lift_hold,
        name="lift_hold",
    ),
    path(
        "actions/bulk/conversations/",
        bulk_views.bulk,
        {"place": "conversations"},
        name="bulk_conversations",
    ),
    path("actions/bulk/trash/", bulk_views.bulk, {"place": "trash"}, name="bulk_trash"),
    path("trash/", views.trash_list, name="trash"),
    path("storage/", retention_views.storage, name="storage"),
    path("audit/", views.audit, name="audit"),
]
