from django.urls import path, re_path

from agents.demo_shop import api
from hilconsole.api import api_not_found

app_name = "demo_shop"

urlpatterns = [
    path("orders", api.OrderList.as_view(), name="orders"),
    path("orders/<str:number>", api.OrderDetail.as_view(), name="order"),
    path("orders/<str:number>/tracking", api.OrderTracking.as_view(), name="tracking"),
    path("orders/<str:number>/refund", api.OrderRefund.as_view(), name="refund"),
    path("orders/<str:number>/shipping-address", api.OrderShippingAddress.as_view(), name="shipping_address"),
    re_path(r"", api_not_found),
]
