from django.urls import path

from conversations import views

app_name = "widget"

urlpatterns = [
    path("demo/", views.widget_demo, name="demo"),
]
