from django.urls import path

from reviews.consumers import DeskConsumer, WorkspaceConsumer

websocket_urlpatterns = [
    path("ws/desk/", DeskConsumer.as_asgi()),
    path("ws/desk/conversations/<int:conversation_id>/", WorkspaceConsumer.as_asgi()),
]
