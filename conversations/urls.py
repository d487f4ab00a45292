from django.urls import path

from conversations import api

app_name = "widget_api"

urlpatterns = [
    path("conversations", api.ConversationCreate.as_view(), name="conversations"),
    path("customer-token", api.CustomerTokenRotation.as_view(), name="customer_token"),
    path("conversations/<int:conversation_id>/messages", api.ConversationMessages.as_view(), name="messages"),
    path("conversations/<int:conversation_id>/csat", api.ConversationRating.as_view(), name="csat"),
]
