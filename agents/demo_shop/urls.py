from django.urls import path, re_path, register_converter

from agents.demo_shop import api
from hilconsole.api import api_not_found


class OrderNumber:
    """Letters, digits and dashes, as short as the shop's column: anything else is not an order."""

    regex = "[0-9A-Za-z-]{1,20}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(OrderNumber, "order_number")

app_name = "demo_shop"

urlpatterns = [
    path("orders", api.OrderList.as_view(), name="orders"),
    path("orders/<order_number:number>", api.OrderDetail.as_view(), name="order"),
    path("orders/<order_number:number>/tracking", api.OrderTracking.as_view(), name="tracking"),
    path("orders/<order_number:number>/refund", api.OrderRefund.as_view(), name="refund"),
    path("orders/<order_number:number>/shipping-address", api.OrderShippingAddress.as_view(), name="shipping_address"),
    re_path(r"", api_not_found),
]
