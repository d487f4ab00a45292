from django.urls import path

from reviews import api

urlpatterns = [
    path("review-tasks", api.ReviewTaskList.as_view(), name="review-tasks"),
    path("review-tasks/<int:task_id>", api.ReviewTaskDetail.as_view(), name="review-task"),
    path("review-tasks/<int:task_id>/decision", api.ReviewTaskDecision.as_view(), name="review-task-decision"),
    path("approvals", api.ApprovalCreate.as_view(), name="approvals"),
    path("approvals/<int:task_id>", api.ApprovalDetail.as_view(), name="approval"),
]
