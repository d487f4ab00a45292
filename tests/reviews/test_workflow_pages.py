"""The back office's desk pages: the analyses and applications of the inboxes one works, a page
that only reads (405 to anything but GET, 404 for what does not exist), and an analysis page's
progress, which reloads the page once the analysis has moved on."""

import pytest
from django.urls import reverse

from agents.models import Application, DocumentAnalysis
from agents.workflows import services
from agents.workflows.documents import document_text
from tests.agents.workflows import back_office

pytestmark = pytest.mark.django_db


def submissions(user, inbox_name: str):
    inbox, (analysis_workflow, refund_claim) = back_office(user, name=inbox_name)
    analysis = services.analysis_submit(user, workflow=analysis_workflow, inbox=inbox, title=f"Lease of {inbox_name}",
                                        document=document_text(b"A short lease."), requires_signoff=False)  # fmt: skip
    application = services.application_submit(user, workflow=refund_claim, inbox=inbox, documents=[], fields={},
                                              applicant={"name": f"Cleo of {inbox_name}"})  # fmt: skip
    return analysis, application


def test_the_lists_show_the_submissions_of_the_inboxes_one_works_and_who_decided(client, reviewer, site_admin):
    analysis, application = submissions(reviewer, "Back office")
    submissions(site_admin, "Elsewhere")  # an inbox Rita does not work
    Application.objects.filter(pk=application.pk).update(status="rejected", decision="reject", decided_by="Rita")
    client.force_login(reviewer)

    analyses = client.get(reverse("desk:analyses")).content.decode()
    applications = client.get(reverse("desk:applications")).content.decode()
    page = client.get(reverse("desk:application", args=[application.pk])).content.decode()

    assert "Lease of Back office" in analyses and "Lease of Elsewhere" not in analyses
    assert "Cleo of Back office" in applications and "Cleo of Elsewhere" not in applications
    assert "Rejected by Rita" in applications and "Rejected by Rita" in page


def test_a_workflow_page_only_reads_and_one_that_does_not_exist_is_404(client, reviewer):
    analysis, application = submissions(reviewer, "Back office")
    client.force_login(reviewer)

    assert client.post(reverse("desk:analysis", args=[analysis.pk])).status_code == 405
    assert client.post(reverse("desk:application", args=[application.pk])).status_code == 405
    assert client.post(reverse("desk:analysis_progress", args=[analysis.pk])).status_code == 405
    assert client.get(reverse("desk:analysis", args=[analysis.pk + 1000])).status_code == 404
    assert client.get(reverse("desk:application", args=[application.pk + 1000])).status_code == 404


def test_the_progress_reloads_the_analysis_page_once_its_status_moved_on(client, reviewer):
    analysis, _ = submissions(reviewer, "Back office")
    client.force_login(reviewer)
    url = reverse("desk:analysis_progress", args=[analysis.pk]) + "?shown=queued"

    unchanged = client.get(url, HTTP_HX_REQUEST="true")
    DocumentAnalysis.objects.filter(pk=analysis.pk).update(status="analysing")
    moved_on = client.get(url, HTTP_HX_REQUEST="true")

    assert unchanged.status_code == 200 and "HX-Refresh" not in unchanged
    assert "chunks analysed" in unchanged.content.decode()
    assert moved_on["HX-Refresh"] == "true"
