from django import forms
from django.conf import settings

from reviews.models import HumanAgent


class ReplyForm(forms.Form):
    content = forms.CharField(max_length=settings.WIDGET_MAX_MESSAGE_CHARS, strip=True)
    internal = forms.BooleanField(required=False)

    def clean_content(self):
        return self.cleaned_data["content"].strip()


class PresenceForm(forms.Form):
    status = forms.ChoiceField(choices=HumanAgent.Status.choices)


class TransferForm(forms.Form):
    """To a named colleague or to a skill: exactly one of them."""

    to_agent = forms.IntegerField(required=False, min_value=1)
    to_skill = forms.SlugField(required=False, max_length=40)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("to_agent")) == bool(cleaned.get("to_skill")):
            raise forms.ValidationError("Choose a colleague or a skill to transfer to.")
        return cleaned


class CannedSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=60, strip=True)


class EarlierForm(forms.Form):
    before = forms.IntegerField(min_value=1)


class ResolveForm(forms.Form):
    # The newest message the agent's page shows: a customer message after it refuses the resolve.
    seen_through = forms.IntegerField(
        min_value=0, error_messages={"required": "Reload the conversation: the page did not say what you have read."}
    )
