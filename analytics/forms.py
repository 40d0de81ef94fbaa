"""Forms of the dashboard: GET filters and action forms.

The list and the audit log show a filter's errors and no rows; elsewhere
(the overview's period, a page number) a bad value falls back to the default.
Names of branches that exist are not limited here: any branch is usable.
"""

from django import forms

from convstore.models import AuditEntry

from . import selectors

PERIOD_CHOICES = [("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("all", "All time")]


class FilterForm(forms.Form):
    """A GET form; values() gives the valid fields, and the defaults for the rest."""

    defaults: dict = {}

    def values(self) -> dict:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned[name] if cleaned.get(name) not in (None, "") else default
            for name, default in self.defaults.items()
        }


class PeriodForm(FilterForm):
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)

    defaults = {"period": selectors.DEFAULT_PERIOD}


class ConversationFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=200, strip=True, label="Search")
    period = forms.ChoiceField(choices=[("all", "Any time"), *PERIOD_CHOICES[:3]], required=False)
    branched = forms.ChoiceField(
        choices=[("", "With or without branches"), ("yes", "Has branches"), ("no", "No branches")],
        required=False,
        label="Branches",
    )
    model = forms.ChoiceField(required=False)
    held = forms.ChoiceField(
        choices=[("", "Held or not"), ("yes", "On legal hold")],
        required=False,
        label="Legal hold",
    )
    agent = forms.ChoiceField(required=False)
    meta = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        label="Metadata",
        help_text="key=value, e.g. user_id=u-42",
    )
    sort = forms.ChoiceField(
        choices=[
            ("recent", "Last activity"),
            ("turns", "Turns"),
            ("tokens", "Tokens"),
            ("cost", "Cost"),
        ],
        required=False,
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    defaults = {
        "q": "",
        "period": "all",
        "branched": "",
        "model": "",
        "held": "",
        "agent": "",
        "meta": "",
        "sort": "recent",
        "page": 1,
    }

    def __init__(self, *args, model_names: list[str], agent_names: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "Any model")] + [(m, m) for m in model_names]
        self.fields["agent"].choices = [("", "Any agent")] + [(a, a) for a in agent_names]

    def clean_meta(self) -> str:
        meta = self.cleaned_data["meta"]
        if meta and (not meta.partition("=")[0].strip() or "=" not in meta):
            raise forms.ValidationError("Write it as key=value, e.g. user_id=u-42")
        return meta

    def filters(self) -> dict:
        values = self.values()
        values["branched"] = {"yes": True, "no": False}.get(values["branched"])
        values["held"] = values["held"] == "yes"
        meta = values.pop("meta")
        if meta:
            key, _, value = meta.partition("=")
            values["metadata"] = (key.strip(), value.strip())
        return values


class PageForm(FilterForm):
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    defaults = {"page": None}


class AuditFilterForm(FilterForm):
    action = forms.ChoiceField(
        choices=[("", "Any action"), *AuditEntry.Action.choices], required=False
    )
    conversation = forms.CharField(required=False, strip=True, label="Conversation id")
    actor = forms.CharField(required=False, max_length=150, strip=True, label="Who")
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    defaults = {"action": "", "conversation": "", "actor": "", "page": 1}


class CompareForm(FilterForm):
    a = forms.CharField(required=False, strip=False)
    b = forms.CharField(required=False, strip=False)

    defaults = {"a": "", "b": ""}


class BranchForm(forms.Form):
    branch = forms.CharField(strip=False)


class CopyForm(BranchForm):
    # Checked where every conversation id is, in convstore.conversations.
    new_id = forms.CharField(strip=True, label="New conversation id")
    up_to_turn = forms.IntegerField(required=False, min_value=1, label="Up to turn")


class ForkForm(BranchForm):
    turn = forms.IntegerField(min_value=1)
    # Its length is checked where every new branch is, in convstore.conversations.
    name = forms.CharField(required=False, strip=True, label="Branch name")


class HoldForm(forms.Form):
    # Its length is checked where every hold is, in convstore.conversations.
    reason = forms.CharField(strip=True, label="Reason")


# The bulk actions of each page that lists conversations, as the menu names them.
BULK_ACTIONS = {
    "conversations": [
        ("trash", "Move to trash"),
        ("export_jsonl", "Export as JSON lines"),
        ("export_sqlite", "Export as an Agents SDK file"),
    ],
    "trash": [("restore", "Restore"), ("purge", "Purge for good")],
}
BULK_SCOPES = [("selected", "The selected rows"), ("matching", "All matching")]
# More ids than any page shows: a bigger choice is "all matching".
BULK_MAX_IDS = 1000


class ConversationIdsField(forms.Field):
    """The ids of the rows chosen on a page: a repeated field, as checkboxes send it."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        ids = [str(item) for item in value or []]
        if len(ids) > BULK_MAX_IDS:
            raise forms.ValidationError(
                f"At most {BULK_MAX_IDS:,} rows can be chosen; choose all matching instead."
            )
        return ids


class BulkForm(forms.Form):
    action = forms.ChoiceField(label="Action")
    scope = forms.ChoiceField(choices=BULK_SCOPES, initial="selected", label="Apply to")
    ids = ConversationIdsField(required=False, label="Rows")
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, place: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = BULK_ACTIONS[place]

    def action_label(self) -> str:
        return dict(self.fields["action"].choices)[self.cleaned_data["action"]]
