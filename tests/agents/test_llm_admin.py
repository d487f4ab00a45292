import pytest
from django.urls import reverse

from agents.llm.keys import api_key_of
from agents.models import Deployment, ModelProfile

pytestmark = pytest.mark.django_db


def inline_form(profile, **fields):
    data = {
        "name": profile.name,
        "description": profile.description,
        "deployments-TOTAL_FORMS": "1",
        "deployments-INITIAL_FORMS": "0",
        "deployments-0-position": "0",
        "deployments-0-model": "openai/gpt-4o-mini",
        "deployments-0-timeout_seconds": "30",
        "deployments-0-enabled": "on",
    }
    data.update({f"deployments-0-{name}": value for name, value in fields.items()})
    return data


def test_a_provider_key_is_stored_encrypted_and_never_shown_again(client, site_admin):
    profile = ModelProfile.objects.create(name="premium")
    client.force_login(site_admin)
    url = reverse("admin:agents_modelprofile_change", args=[profile.pk])

    response = client.post(url, inline_form(profile, api_key="sk-live-very-secret"))

    assert response.status_code == 302
    deployment = Deployment.objects.get(profile=profile)
    assert "sk-live-very-secret" not in deployment.api_key_encrypted
    assert api_key_of(deployment) == "sk-live-very-secret"
    page = client.get(url).content.decode()
    assert "sk-live-very-secret" not in page and deployment.api_key_encrypted not in page


def test_a_key_and_an_environment_variable_together_is_a_form_error(client, site_admin):
    profile = ModelProfile.objects.create(name="premium")
    client.force_login(site_admin)

    response = client.post(
        reverse("admin:agents_modelprofile_change", args=[profile.pk]),
        inline_form(profile, api_key="sk-1", api_key_env="OPENAI_API_KEY"),
    )

    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not Deployment.objects.filter(profile=profile).exists()


def test_the_default_profiles_exist_on_the_local_model():
    assert {p.name: [d.model for d in p.deployments.all()] for p in ModelProfile.objects.all()} == {
        "balanced": ["local/hil-small"],
        "fast": ["local/hil-small"],
        "powerful": ["local/hil-small"],
    }
