"""The demo shop's JSON API (`/demo-shop/api/`), the backend the demo tools call over HTTP.

Callers authenticate with the shared secret in `X-Demo-Shop-Key` (settings.DEMO_SHOP_API_KEY).
`?customer=<the shop's id of a customer's account>` scopes a request to that customer's orders (for
the demo's accounts, such as "shop-ana", see services.DEMO_CUSTOMERS): an order of
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
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.demo_shop import services
from agents.models import DemoOrder
from hilconsole.api import error_responses, validated

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


class ShopKeyScheme(OpenApiAuthenticationExtension):
    target_class = ShopKeyAuthentication
    name = "demoShopKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": KEY_HEADER}


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
    customer = serializers.CharField(max_length=254, required=False, default="", trim_whitespace=False)


def scope_of(request) -> str:
    return validated(CustomerScope, request.query_params)["customer"]


def _answer(result: tuple[dict, bool]) -> Response:
    body, replayed = result
    return Response(body, headers={"Idempotent-Replayed": "true"} if replayed else None)


class OrdersQuery(serializers.Serializer):
    customer = serializers.CharField(
        max_length=254,
        trim_whitespace=False,
        help_text="The shop's id of the customer's account, such as \"shop-ana\".",
    )
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class RefundIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=500)


class ShippingAddressIn(serializers.Serializer):
    address = serializers.CharField(max_length=500)


# What the shop answers, for the OpenAPI schema.


class OrderOut(serializers.Serializer):
    number = serializers.CharField()
    customer_email = serializers.EmailField()
    status = serializers.ChoiceField(DemoOrder.Status.choices)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    refunded_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    refundable_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping_address = serializers.CharField(allow_blank=True)
    carrier = serializers.CharField(allow_blank=True)
    placed_at = serializers.DateTimeField()


class OrdersOut(serializers.Serializer):
    orders = OrderOut(many=True)


class TrackingOut(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(DemoOrder.Status.choices)
    carrier = serializers.CharField(allow_blank=True)


class RefundDone(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    reason = serializers.CharField()


class RefundOut(serializers.Serializer):
    order = OrderOut()
    refund = RefundDone()


class AddressChangeOut(serializers.Serializer):
    order = OrderOut()


CUSTOMER = OpenApiParameter("customer", str, description="Only that customer's orders: the shop's id of them.")


class Slowness(serializers.Serializer):
    delay = serializers.FloatField(
        min_value=0, required=False, help_text="Answer this many seconds later (at most 10), where allowed."
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="A repeat with the same key gets the first answer."
)


def shop_schema(operation: str, summary: str, answer, *, parameters=(), request=None, refusals=(400, 401, 404)):
    return extend_schema(
        operation_id=f"shop_{operation}", tags=["demo shop"], summary=summary, request=request,
        parameters=[*parameters, Slowness], responses={200: answer, **error_responses(*refusals)},
    )  # fmt: skip


class OrderList(ShopView):
    @shop_schema("orders_list", "A customer's orders, newest first", OrdersOut, parameters=[OrdersQuery])
    def get(self, request):
        query = validated(OrdersQuery, request.query_params)
        orders = services.orders_of(query["customer"])[: query["limit"]]
        return Response({"orders": [services.order_payload(order) for order in orders]})


class OrderDetail(ShopView):
    @shop_schema("order", "One order", OrderOut, parameters=[CUSTOMER])
    def get(self, request, number):
        return Response(services.order_payload(_order(number, scope_of(request))))


class OrderTracking(ShopView):
    @shop_schema("order_tracking", "What the public tracking page shows of an order", TrackingOut)
    def get(self, request, number):
        return Response(services.order_tracking(_order(number)))


class OrderRefund(ShopView):
    @shop_schema(
        "order_refund", "Refund part or all of an order", RefundOut, parameters=[CUSTOMER, IDEMPOTENCY_KEY],
        request=RefundIn, refusals=(400, 401, 404, 409, 413, 415),
    )  # fmt: skip
    def post(self, request, number):
        customer = scope_of(request)
        _order(number, customer)
        data = validated(RefundIn, request.data)
        key = request.headers.get("Idempotency-Key", "")
        return _answer(services.order_refund(number, **data, customer=customer, idempotency_key=key))


class OrderShippingAddress(ShopView):
    @shop_schema(
        "order_shipping_address", "Ship an order that has not left yet to another address", AddressChangeOut,
        parameters=[CUSTOMER, IDEMPOTENCY_KEY], request=ShippingAddressIn, refusals=(400, 401, 404, 409, 413, 415),
    )  # fmt: skip
    def post(self, request, number):
        customer = scope_of(request)
        _order(number, customer)
        data = validated(ShippingAddressIn, request.data)
        key = request.headers.get("Idempotency-Key", "")
        return _answer(services.order_shipping_address_change(number, **data, customer=customer, idempotency_key=key))
