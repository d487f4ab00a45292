from django.urls import path

from conversations.consumers import WidgetConsumer

websocket_urlpatterns = [
    path("ws/widget/<int:conversation_id>/", WidgetConsumer.as_asgi()),
]
