"""The reviewer's decision form, with the edit fields generated from the tool's argument schema."""

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from reviews.models import RejectionReason, ReviewTask

ARGUMENT_PREFIX = "arg_"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(d, d) for d in ("approve", "edit", "reject", "respond")])
    reason = forms.ModelChoiceField(queryset=RejectionReason.objects.none(), required=False, empty_label="a reason…")
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    message = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, task: ReviewTask, **kwargs):
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["reason"].queryset = RejectionReason.objects.filter(tool__isnull=True) | (
            RejectionReason.objects.filter(tool=task.tool_id) if task.tool_id else RejectionReason.objects.none()
        )
        if task.kind == ReviewTask.Kind.REPLY:
            self.fields["message"].initial = task.draft
            return
        schema = task.tool.argument_schema if task.tool_id else {}
        current = task.final_arguments or task.arguments
        for name, spec in (schema.get("properties") or {}).items():
            field = argument_field(name, spec, required=name in schema.get("required", []))
            field.initial = current.get(name)
            self.fields[ARGUMENT_PREFIX + name] = field
        self.argument_names = list(schema.get("properties") or {})

    def argument_fields(self):
        return [self[name] for name in self.fields if name.startswith(ARGUMENT_PREFIX)]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") != "edit":
            # Only an edit sends arguments: the other decisions must not fail on them.
            for name in list(self.errors):
                if name.startswith(ARGUMENT_PREFIX):
                    del self.errors[name]
        reason = cleaned.get("reason")
        if reason and not cleaned.get("comment"):
            cleaned["comment"] = reason.text
        return cleaned

    def arguments(self) -> dict | None:
        if self.task.kind == ReviewTask.Kind.REPLY or self.cleaned_data.get("decision") != "edit":
            return None
        values = {}
        for name in self.argument_names:
            value = self.cleaned_data.get(ARGUMENT_PREFIX + name)
            if value not in (None, ""):
                values[name] = float(value) if isinstance(value, Decimal) else value
        return values


def argument_field(name: str, spec: dict, *, required: bool) -> forms.Field:
    """A form field for one JSON-schema property (strings, numbers, integers, booleans)."""
    label = spec.get("title") or name
    help_text = spec.get("description", "")
    kind = spec.get("type")
    if kind == "integer":
        return forms.IntegerField(required=required, label=label, help_text=help_text,
                                  min_value=spec.get("minimum"), max_value=spec.get("maximum"))  # fmt: skip
    if kind == "number":
        return forms.DecimalField(required=required, label=label, help_text=help_text, decimal_places=2,
                                  max_value=spec.get("maximum"))  # fmt: skip
    if kind == "boolean":
        return forms.BooleanField(required=False, label=label, help_text=help_text)
    validators = [RegexValidator(spec["pattern"])] if spec.get("pattern") else []
    widget = forms.Textarea(attrs={"rows": 2}) if (spec.get("maxLength") or 0) > 200 else None
    return forms.CharField(
        required=required, label=label, help_text=help_text, max_length=spec.get("maxLength"),
        min_length=spec.get("minLength"), validators=validators, widget=widget,
    )  # fmt: skip
