"""The workflows API's refusals and what it reads from files: every bad request is a 4xx naming
what to fix, never a 500; a PDF is read page by page, HTML without its markup, and the analyses
endpoint takes documents larger than the usual body limit, up to its own."""

import httpx
import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.models import Application, DocumentAnalysis, Workflow
from agents.workflows.documents import PAGE_CHARS, paginate
from tests.agents.workflows import back_office, pdf

MB = 1024 * 1024
CLEO = {"name": "Cleo"}


@pytest.fixture
def rita(reviewer):
    back_office(reviewer)
    return reviewer


@pytest.fixture
def api(rita):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rita).key}")
    return client


def upload(api, name: str, content: bytes, **fields):
    return api.post("/api/v1/analyses", {"file": _file(name, content), **fields}, format="multipart")


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


@pytest.mark.django_db
def test_a_pdf_is_read_page_by_page(api):
    response = upload(api, "lease.pdf", pdf(["First page (rent).", "Second page: the deposit.", "Third page."]))

    assert response.status_code == 202, response.content
    analysis = DocumentAnalysis.objects.get(pk=response.json()["id"])
    assert (analysis.pages, analysis.content_type, analysis.title) == (3, "pdf", "lease.pdf")
    assert analysis.text.split("\f")[1].strip() == "Second page: the deposit."
    assert analysis.runs.get().kind == "document_analysis"


@pytest.mark.django_db
def test_html_is_read_without_its_markup_and_a_long_text_is_cut_into_pages(api):
    html = b"<html><head><style>p {}</style><script>alert(1)</script></head><body><h1>Terms</h1><p>Pay in 14 days.</p>"
    response = upload(api, "terms.html", html, title="Terms", requires_signoff="true")

    analysis = DocumentAnalysis.objects.get(pk=response.json()["id"])
    assert analysis.text == "Terms\n\nPay in 14 days." and analysis.requires_signoff and analysis.title == "Terms"
    pages = paginate("\n\n".join(["word " * 100] * 40))  # 40 paragraphs of 500 characters, no form feeds
    assert len(pages) == 8 and all(len(page) <= PAGE_CHARS for page in pages) and "".join(pages).count("word") == 4000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({}, "file", "Send a file or a text"),
        ({"text": "Both", "file": ("a.txt", b"and a file")}, "file", "one of them"),
        ({"file": ("scan.docx", b"PK...")}, "file", "Only .txt, .md, .html and .pdf"),
        ({"file": ("broken.pdf", b"%PDF-1.4 not really")}, "file", "The PDF cannot be read"),
        ({"file": ("blank.pdf", pdf(["", ""]))}, "file", "no text to analyse"),
        ({"file": ("latin1.txt", "Café".encode("latin-1"))}, "file", "not UTF-8"),
        ({"text": "   "}, "text", "blank"),
        ({"text": "Hi", "kind": "nothing_like_it"}, "kind", "No document analysis kind named 'nothing_like_it'"),
        ({"text": "Hi", "kind": "refund_claim"}, "kind", "No document analysis kind"),
        ({"text": "Hi", "inbox": 999999}, "inbox", "No such inbox for this account"),
        ({"text": "Hi", "requires_signoff": "maybe"}, "requires_signoff", "valid boolean"),
    ],
)
def test_a_bad_submission_is_a_400_naming_what_to_fix(api, body, field, fragment):
    files = {name: _file(*value) for name, value in body.items() if isinstance(value, tuple)}
    response = api.post("/api/v1/analyses", {**body, **files}, format="multipart")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"] and fragment in error["message"]
    assert not DocumentAnalysis.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_analyses_limit_is_413(api, settings):
    settings.ANALYSIS_UPLOAD_MAX_BYTES = 1000

    response = upload(api, "long.txt", b"x" * 1001)
    text = api.post("/api/v1/analyses", {"text": "y" * 1001}, format="json")

    assert response.status_code == text.status_code == 413
    assert response.json()["error"]["code"] == text.json()["error"]["code"] == "file_too_large"


@pytest.mark.django_db
def test_submitting_needs_the_permission_and_a_disabled_kind_is_refused(api, rita, support_agent):
    rita.user_permissions.remove(Permission.objects.get(codename="add_documentanalysis"))
    refused = APIClient()
    refused.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=support_agent).key}")

    assert refused.post("/api/v1/analyses", {"text": "Hi"}, format="json").status_code == 403
    assert APIClient().post("/api/v1/analyses", {"text": "Hi"}, format="json").status_code == 401
    Workflow.objects.filter(name="refund_claim").update(enabled=False)
    response = api.post("/api/v1/applications", {"kind": "refund_claim", "applicant": {"name": "Cleo"}}, format="json")
    assert (
        response.status_code == 400
        and "No application review kind named 'refund_claim'" in response.json()["error"]["message"]
    )
    assert api.put("/api/v1/applications", {}, format="json").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "kind"),
        ({"kind": "refund_claim"}, "applicant"),
        ({"kind": "refund_claim", "applicant": {}}, "applicant"),
        ({"kind": "refund_claim", "applicant": {"name": "x" * 20_000}}, "applicant"),
        ({"kind": "refund_claim", "applicant": {"name": "Cleo\u0000"}}, "applicant"),
        ({"kind": "refund_claim", "applicant": {"name": "Cleo"}, "fields": {"amount": "\u0000"}}, "fields"),
        (
            {"kind": "refund_claim", "applicant": {"name": "Cleo"}, "callback_url": "ftp://example.org/x"},
            "callback_url",
        ),
        ({"kind": "refund_claim", "applicant": {"name": "Cleo"}, "documents": [{"name": "a"}]}, "documents"),
        ({"kind": "refund_claim", "applicant": {"name": "Cleo"}, "documents": [{"text": "t"}] * 21}, "documents"),
        ({"kind": "document_analysis", "applicant": {"name": "Cleo"}}, "kind"),
    ],
)
def test_a_bad_application_is_a_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/applications", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_an_application_is_accepted_and_shown_to_whoever_works_its_inbox(api, rita, support_agent):
    response = api.post("/api/v1/applications", {"kind": "refund_claim", "applicant": {"name": "Cleo"},
                                                 "fields": {"order_number": "100234"}}, format="json")  # fmt: skip

    assert response.status_code == 202 and response.json()["status"] == "received"
    shown = api.get(f"/api/v1/applications/{response.json()['id']}").json()
    assert shown["applicant"] == {"name": "Cleo"} and shown["decision"] is None and shown["trace"][0]["steps"] == []
    outsider = APIClient()
    outsider.force_authenticate(support_agent)
    assert outsider.get(f"/api/v1/applications/{response.json()['id']}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_analyses_endpoint_takes_a_document_over_the_usual_body_limit_and_refuses_one_over_its_own(
    live_server_url, rita
):
    headers = {"Authorization": f"Token {Token.objects.create(user=rita).key}"}
    document = ("A clause of the contract. " * 40 + "\n\n").encode() * 2000  # about 2 MB: over the usual 1 MB

    with httpx.Client(base_url=live_server_url, headers=headers, timeout=60) as client:
        accepted = client.post("/api/v1/analyses", files={"file": ("big.txt", document)})
        refused = client.post("/api/v1/analyses", files={"file": ("huge.txt", b"x" * (22 * MB))})

    assert accepted.status_code == 202, accepted.text
    assert DocumentAnalysis.objects.get(pk=accepted.json()["id"]).size_bytes == len(document)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"
