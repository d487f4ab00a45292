from django.urls import path

from reviews import review_views, views, workflow_views

app_name = "desk"

urlpatterns = [
    path("", views.desk_home, name="home"),
    path("presence/", views.presence, name="presence"),
    path("lists/", views.desk_lists, name="lists"),
    path("conversations/<int:conversation_id>/", views.workspace, name="conversation"),
    path("conversations/<int:conversation_id>/claim/", views.claim, name="claim"),
    path("conversations/<int:conversation_id>/resync/", views.workspace_resync, name="resync"),
    path("conversations/<int:conversation_id>/messages/", views.earlier_messages, name="earlier"),
    path("conversations/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("conversations/<int:conversation_id>/suggest/", views.suggest, name="suggest"),
    path("conversations/<int:conversation_id>/canned/", views.canned, name="canned"),
    path("conversations/<int:conversation_id>/release/", views.release, name="release"),
    path("conversations/<int:conversation_id>/transfer/", views.transfer, name="transfer"),
    path("conversations/<int:conversation_id>/return-to-ai/", views.return_to_ai, name="return_to_ai"),
    path("conversations/<int:conversation_id>/resolve/", views.resolve, name="resolve"),
    path("reviews/", review_views.review_list, name="reviews"),
    path("reviews/rows/", review_views.review_list_rows, name="review_rows"),
    path("reviews/<int:task_id>/", review_views.review_task, name="review"),
    path("reviews/<int:task_id>/decide/", review_views.review_decide, name="review_decide"),
    path("reviews/<int:task_id>/take-over/", review_views.review_take_over, name="review_take_over"),
    path("analyses/", workflow_views.analysis_list, name="analyses"),
    path("analyses/<int:analysis_id>/", workflow_views.analysis_page, name="analysis"),
    path("analyses/<int:analysis_id>/progress/", workflow_views.analysis_progress, name="analysis_progress"),
    path("applications/", workflow_views.application_list, name="applications"),
    path("applications/<int:application_id>/", workflow_views.application_page, name="application"),
]
