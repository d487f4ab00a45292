from django.urls import path

from agents import api

urlpatterns = [
    path("runs/<int:run_id>/trace", api.RunTrace.as_view(), name="run-trace"),
]
