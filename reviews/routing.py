# WebSocket routes of the desk (its live dashboards).
websocket_urlpatterns = []
