from django.urls import path

from agents import api
from agents.workflows import api as workflows

urlpatterns = [
    path("runs/<int:run_id>/trace", api.RunTrace.as_view(), name="run-trace"),
    path("analyses", workflows.AnalysisCreate.as_view(), name="analyses"),
    path("analyses/<int:analysis_id>", workflows.AnalysisDetail.as_view(), name="analysis"),
    path("applications", workflows.ApplicationCreate.as_view(), name="applications"),
    path("applications/<int:application_id>", workflows.ApplicationDetail.as_view(), name="application"),
]
