# WebSocket routes of the customer widget.
websocket_urlpatterns = []
