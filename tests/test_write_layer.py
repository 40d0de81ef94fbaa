"""Only the write layer writes with the ORM (DESIGN.md: one way in for every write).

A static check over the source: a call of an ORM write method (.save(),
.create(), .update(), .delete(), ...) on anything, outside convstore/conversations/,
convstore/demo/ and the migrations, is a violation unless ALLOWED names it with
its reason. The rule reads names, not types, so a dict's .update() needs an
entry too. Writes in raw SQL (the rollups' triggers and rebuild) are not ORM
calls and are not checked here.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("convstore", "analytics")
WRITE_LAYER = ("convstore/conversations", "convstore/demo")
WRITE_METHODS = {
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}

# (file, the call as written up to its arguments): why it may write.
ALLOWED = {
    (
        "convstore/management/commands/login_link.py",
        "user_model._default_manager.get_or_create",
    ): "Django's own user model: the superuser a login link is for",
    (
        "convstore/management/commands/login_link.py",
        "user.save",
    ): "Django's own user model: that new superuser's unusable password",
    (
        "convstore/admin/conversations.py",
        "context.update",
    ): "a dict: the admin change page's template context",
    (
        "convstore/queries/display.py",
        "totals.update",
    ): "a dict: summed usage figures",
}


def orm_writes_in(source: str, path: str) -> list[tuple[str, str, int]]:
    """(path, call, line) of every call of a write method in the source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITE_METHODS
        ):
            call = f"{ast.unparse(node.func.value)}.{node.func.attr}"
            found.append((path, call, node.lineno))
    return sorted(found, key=lambda write: write[2])


def checked_files() -> list[Path]:
    files = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative.startswith(WRITE_LAYER):
                continue
            files.append(path)
    return files


def orm_writes_outside_the_write_layer() -> list[tuple[str, str, int]]:
    found = []
    for path in checked_files():
        found += orm_writes_in(path.read_text(), path.relative_to(ROOT).as_posix())
    return found


def test_no_module_outside_the_write_layer_writes_with_the_orm():
    violations = [
        f"{path}:{line}: {call}(...)"
        for path, call, line in orm_writes_outside_the_write_layer()
        if (path, call) not in ALLOWED
    ]
    assert violations == [], "Write through convstore.conversations instead"


def test_every_allowed_write_is_still_in_the_source():
    found = {(path, call) for path, call, _line in orm_writes_outside_the_write_layer()}
    assert set(ALLOWED) - found == set()


def test_the_check_sees_the_views_and_selectors():
    checked = {path.relative_to(ROOT).as_posix() for path in checked_files()}
    assert {"analytics/views.py", "analytics/selectors/listing.py", "convstore/session.py"} <= (
        checked
    )
    assert "convstore/conversations/history.py" not in checked
    assert "convstore/demo/bulk.py" not in checked


def test_the_check_finds_a_queryset_update_and_an_instance_save():
    source = (
        "def view(request):\n"
        "    AgentSession.objects.filter(pk='a').update(title='x')\n"
        "    entry = AuditEntry(action='edit')\n"
        "    entry.save()\n"
        "    Branch.objects.using('default').get_or_create(session_id='a')\n"
    )
    assert orm_writes_in(source, "analytics/views.py") == [
        ("analytics/views.py", "AgentSession.objects.filter(pk='a').update", 2),
        ("analytics/views.py", "entry.save", 4),
        ("analytics/views.py", "Branch.objects.using('default').get_or_create", 5),
    ]
