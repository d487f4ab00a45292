from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agents.demo_shop.views import demo_shop
from hilconsole import health, metrics
from hilconsole.api import api_not_found
from hilconsole.dashboard.views import dashboard

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="desk:home", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The admin's home is the dashboard (before the admin's own index, which it replaces).
    path("admin/", admin.site.admin_view(dashboard), name="dashboard"),
    path("admin/", admin.site.urls),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("desk/", include("reviews.urls")),
    path("demo/", demo_shop, name="demo"),
    path("demo-shop/api/", include("agents.demo_shop.urls")),
    path("api/widget/v1/", include("conversations.urls")),
    path("api/v1/", include("agents.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("reviews.api_urls")),
    re_path(r"^api/", api_not_found),
]

admin.site.site_header = "HIL Console"
admin.site.site_title = "HIL Console admin"
admin.site.index_title = "Operations"
