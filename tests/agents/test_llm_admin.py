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
        inline_form(profile, api_key="sk-1", api_key_env="LLM_KEY_OPENAI"),
    )

    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not Deployment.objects.filter(profile=profile).exists()


def save_deployment(client, site_admin, **fields):
    profile = ModelProfile.objects.create(name=f"premium-{ModelProfile.objects.count()}")
    client.force_login(site_admin)
    return profile, client.post(
        reverse("admin:agents_modelprofile_change", args=[profile.pk]), inline_form(profile, **fields)
    )


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "DEMO_SHOP_API_KEY", "llm_key_openai", "LLM_KEY_"])
def test_a_key_variable_not_named_llm_key_is_a_form_error(client, site_admin, name):
    profile, response = save_deployment(client, site_admin, api_key_env=name)

    assert response.status_code == 200
    assert "starts with LLM_KEY_" in response.content.decode()
    assert not Deployment.objects.filter(profile=profile).exists()


def test_a_key_variable_named_llm_key_is_read(client, site_admin, monkeypatch):
    monkeypatch.setenv("LLM_KEY_OPENAI", "sk-from-the-environment")

    profile, response = save_deployment(client, site_admin, api_key_env="LLM_KEY_OPENAI")

    assert response.status_code == 302
    assert api_key_of(Deployment.objects.get(profile=profile)) == "sk-from-the-environment"


@pytest.mark.parametrize(
    "api_base",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "http://[fe80::1]:8000/v1",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://100.100.100.200/latest/meta-data",
        "ftp://models.example.com/v1",
        "file:///etc/passwd",
    ],
)
def test_an_api_base_at_a_metadata_or_link_local_address_or_not_http_is_a_form_error(client, site_admin, api_base):
    profile, response = save_deployment(client, site_admin, api_base=api_base)

    assert response.status_code == 200, api_base
    assert not Deployment.objects.filter(profile=profile).exists()


@pytest.mark.parametrize(
    "api_base", ["http://127.0.0.1:11434/v1", "https://api.openai.com/v1", "http://localhost:8000/v1"]
)
def test_an_api_base_of_a_model_server_is_saved(client, site_admin, api_base):
    profile, response = save_deployment(client, site_admin, api_base=api_base)

    assert response.status_code == 302
    assert Deployment.objects.get(profile=profile).api_base == api_base


def test_an_operator_may_allow_a_link_local_model_server(client, site_admin, settings):
    settings.LLM_API_BASE_ALLOWED_HOSTS = ["169.254.10.20"]

    profile, response = save_deployment(client, site_admin, api_base="http://169.254.10.20:8000/v1")

    assert response.status_code == 302


def test_the_default_profiles_exist_on_the_local_model():
    assert {p.name: [d.model for d in p.deployments.all()] for p in ModelProfile.objects.all()} == {
        "balanced": ["local/hil-small"],
        "fast": ["local/hil-small"],
        "powerful": ["local/hil-small"],
    }
