from django.urls import path

from . import views

app_name = "analytics"

# Conversation ids are free text and may hold "/": each route puts the id last,
# after a fixed prefix, so no id can be mistaken for another route.
urlpatterns = [
    path("", views.overview, name="overview"),
    path("conversations/", views.conversation_list, name="conversations"),
    path("conversations/<path:session_id>/", views.conversation, name="conversation"),
    path("compare/<path:session_id>/", views.compare, name="compare"),
    path("changed/<path:session_id>/", views.conversation_changed, name="conversation_changed"),
    path("export/json/<path:session_id>/", views.export, {"fmt": "json"}, name="export_json"),
    path("export/csv/<path:session_id>/", views.export, {"fmt": "csv"}, name="export_csv"),
    path("actions/fork/<path:session_id>/", views.fork, name="fork"),
    path("actions/make-active/<path:session_id>/", views.make_active, name="make_active"),
    path("actions/delete-branch/<path:session_id>/", views.delete_branch, name="delete_branch"),
    path("actions/trash/<path:session_id>/", views.trash, name="trash_conversation"),
    path("actions/restore/<path:session_id>/", views.restore, name="restore"),
    path("actions/purge/<path:session_id>/", views.purge, name="purge"),
    path("actions/reprice/<path:session_id>/", views.reprice, name="reprice"),
    path("trash/", views.trash_list, name="trash"),
    path("audit/", views.audit, name="audit"),
]
