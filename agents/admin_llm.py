from django import forms
from django.contrib import admin

from agents.llm import gateway
from agents.llm.keys import encrypt_api_key
from agents.models import Deployment, IntentExample, LLMCall, ModelProfile
from conversations.admin_audit import AuditedAdmin, ReadOnlyAdmin


class DeploymentForm(forms.ModelForm):
    api_base = forms.URLField(
        label="API base",
        required=False,
        assume_scheme="https",
        help_text=Deployment._meta.get_field("api_base").help_text,
    )
    # Write-only: a stored key is never sent back to the browser.
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted. Leave empty to keep the current key; or name an environment variable instead.",
    )
    forget_api_key = forms.BooleanField(label="Forget the stored key", required=False)

    class Meta:
        model = Deployment
        fields = [
            "position",
            "model",
            "api_base",
            "api_key_env",
            "api_key",
            "forget_api_key",
            "input_price_per_1k",
            "output_price_per_1k",
            "timeout_seconds",
            "enabled",
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("api_key") and cleaned.get("api_key_env"):
            raise forms.ValidationError("Give either an API key or an environment variable, not both.")
        return cleaned

    def save(self, commit=True):
        deployment = super().save(commit=False)
        if self.cleaned_data.get("forget_api_key"):
            deployment.api_key_encrypted = ""
        if self.cleaned_data.get("api_key"):
            deployment.api_key_encrypted = encrypt_api_key(self.cleaned_data["api_key"])
        if commit:
            deployment.save()
        return deployment


class DeploymentInline(admin.TabularInline):
    model = Deployment
    form = DeploymentForm
    extra = 0
    readonly_fields = ["key_stored"]

    @admin.display(description="key stored", boolean=True)
    def key_stored(self, deployment):
        return bool(deployment.api_key_encrypted)


@admin.register(ModelProfile)
class ModelProfileAdmin(AuditedAdmin):
    list_display = ["name", "description", "deployment_models"]
    inlines = [DeploymentInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        gateway.forget_profile(form.instance.name)

    @admin.display(description="deployments, in fallback order")
    def deployment_models(self, profile):
        return " → ".join(d.model for d in profile.deployments.filter(enabled=True))


@admin.register(LLMCall)
class LLMCallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "purpose", "profile", "deployment_model", "outcome",
        "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms",
    ]  # fmt: skip
    list_filter = ["outcome", "purpose", "profile"]
    date_hierarchy = "created_at"


@admin.register(IntentExample)
class IntentExampleAdmin(AuditedAdmin):
    list_display = ["intent", "text"]
    list_filter = ["intent"]
    search_fields = ["text"]
