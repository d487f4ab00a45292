"""The demo shop's JSON API (`/demo-shop/api/`), the backend the demo tools call over HTTP.

Callers authenticate with the shared secret in `X-Demo-Shop-Key` (settings.DEMO_SHOP_API_KEY).
`?customer=<the shop's id of a customer>` scopes a request to that customer's orders: an order of
anyone else is "No order …", exactly like one that does not exist. `orders/{number}/tracking`
is what the shop's public tracking page shows anybody with the number. Errors are
`{"error": {"code", "message"}}` like the rest of the console's APIs (the project's DRF
exception handler). Writes may send `Idempotency-Key`: a repeat gets the first answer back.
"""

import hmac
import math
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.demo_shop import services
from agents.models import DemoOrder
from hilconsole.api import validated

KEY_HEADER = "X-Demo-Shop-Key"
MAX_DELAY_SECONDS = 10.0


class ShopKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = request.headers.get(KEY_HEADER, "")
        if not key:
            return None
        if not hmac.compare_digest(key.encode(), settings.DEMO_SHOP_API_KEY.encode()):
            raise exceptions.AuthenticationFailed(f"Wrong {KEY_HEADER}.", code="bad_api_key")
        return AnonymousUser(), "demo-shop-client"

    def authenticate_header(self, request):
        return KEY_HEADER


class ShopClient(BasePermission):
    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated(f"Send the demo shop's API key in {KEY_HEADER}.")
        return True


class ShopView(APIView):
    authentication_classes = [ShopKeyAuthentication]
    permission_classes = [ShopClient]
    throttle_classes = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # After authentication, so nobody without the key can park a server thread.
        delay = delay_asked(request)
        if delay:
            time.sleep(delay)


def delay_asked(request) -> float:
    """`?delay=<seconds>`, capped, and only where slowness may be simulated."""
    raw = request.query_params.get("delay")
    if raw is None or not (settings.DEBUG or settings.DEMO_SHOP_ALLOW_DELAY):
        return 0.0
    try:
        delay = float(raw)
    except ValueError:
        delay = math.nan
    if not math.isfinite(delay) or delay < 0:
        raise exceptions.ValidationError({"delay": ["Must be a number of seconds (0 to 10)."]})
    return min(delay, MAX_DELAY_SECONDS)


def _order(number: str, customer: str = "") -> DemoOrder:
    order = services.orders_of(customer).filter(number=number).first()
    if order is None:
        raise exceptions.NotFound(f"No order {number}.")
    return order


class CustomerScope(serializers.Serializer):
    customer = serializers.CharField(max_length=254, required=False, default="")


def scope_of(request) -> str:
    return validated(CustomerScope, request.query_params)["customer"]


def _answer(result: tuple[dict, bool]) -> Response:
    body, replayed = result
    return Response(body, headers={"Idempotent-Replayed": "true"} if replayed else None)


class OrdersQuery(serializers.Serializer):
    """Whose orders: the shop's id of the customer, or an email address (the shop's staff view)."""

    customer = serializers.CharField(max_length=254, required=False)
    email = serializers.EmailField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

    def validate(self, data):
        if bool(data.get("customer")) == bool(data.get("email")):
            raise serializers.ValidationError("Name the customer, or give an email address: one of them.")
        return data


class RefundIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=500)


class ShippingAddressIn(serializers.Serializer):
    address = serializers.CharField(max_length=500)


class OrderList(ShopView):
    def get(self, request):
        query = validated(OrdersQuery, request.query_params)
        orders = services.orders_of(query.get("customer") or query["email"])[: query["limit"]]
        return Response({"orders": [services.order_payload(order) for order in orders]})


class OrderDetail(ShopView):
    def get(self, request, number):
        return Response(services.order_payload(_order(number, scope_of(request))))


class OrderTracking(ShopView):
    def get(self, request, number):
        return Response(services.order_tracking(_order(number)))


class OrderRefund(ShopView):
    def post(self, request, number):
        customer = scope_of(request)
        _order(number, customer)
        data = validated(RefundIn, request.data)
        key = request.headers.get("Idempotency-Key", "")
        return _answer(services.order_refund(number, **data, customer=customer, idempotency_key=key))


class OrderShippingAddress(ShopView):
    def post(self, request, number):
        customer = scope_of(request)
        _order(number, customer)
        data = validated(ShippingAddressIn, request.data)
        key = request.headers.get("Idempotency-Key", "")
        return _answer(services.order_shipping_address_change(number, **data, customer=customer, idempotency_key=key))
