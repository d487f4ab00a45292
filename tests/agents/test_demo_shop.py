"""The demo shop API through the real ASGI server: the backend the demo tools call over HTTP."""

import threading
import time
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.request import Request

from agents.demo_shop.api import delay_asked
from agents.demo_shop.services import DEMO_ORDERS, demo_orders_ensure
from agents.models import DemoOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(demo_shop_api, demo_orders):
    """Send a request to the shop, with its API key unless told otherwise."""

    def send(method, path, *, key=settings.DEMO_SHOP_API_KEY, headers=None, **options) -> httpx.Response:
        headers = ({"X-Demo-Shop-Key": key} if key else {}) | (headers or {})
        return httpx.request(method, f"{demo_shop_api}/{path}", headers=headers, timeout=15, **options)

    return send


def order(number: str) -> DemoOrder:
    return DemoOrder.objects.get(number=number)


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# Reading orders ----------------------------------------------------------------------------


def test_an_order_is_served_with_its_status_and_money(shop):
    response = shop("GET", "orders/100578")

    assert response.status_code == 200
    assert response.json() | {"placed_at": None} == {
        "number": "100578",
        "customer_email": "lena.becker@demo.example",
        "status": "delivered",
        "total": "59.95",
        "currency": "EUR",
        "refunded_amount": "20.00",
        "refundable_amount": "39.95",
        "shipping_address": "Bergmannstr. 5, 10961 Berlin, DE",
        "carrier": "DHL",
        "placed_at": None,
    }


def test_an_order_asked_for_as_a_customer_exists_only_if_it_is_theirs(shop):
    own = shop("GET", "orders/100578", params={"customer": "shop-lena"})
    other = shop("GET", "orders/100234", params={"customer": "shop-lena"})
    nobody = shop("GET", "orders/100578", params={"customer": "lena.becker@demo.example"})  # not an account id

    assert own.status_code == 200 and own.json()["shipping_address"].startswith("Bergmannstr")
    assert error_of(other) == (404, "not_found")
    assert other.json()["error"]["message"] == "No order 100234."  # the same as an order that does not exist
    assert error_of(nobody) == (404, "not_found")


def test_the_tracking_of_an_order_shows_its_status_and_carrier_only(shop):
    response = shop("GET", "orders/100234/tracking")

    assert response.json() == {"number": "100234", "status": "shipped", "carrier": "DHL"}
    assert error_of(shop("GET", "orders/999999/tracking")) == (404, "not_found")


def test_a_customers_orders_are_listed_newest_first(shop):
    response = shop("GET", "orders", params={"customer": "shop-marc"})
    limited = shop("GET", "orders", params={"customer": "shop-marc", "limit": 1})

    assert response.status_code == 200
    assert [found["number"] for found in response.json()["orders"]] == ["100871", "100412"]
    assert [found["number"] for found in limited.json()["orders"]] == ["100871"]


def test_listing_orders_needs_the_customer(shop):
    for params in ({}, {"customer": ""}, {"customer": "x" * 300}):
        response = shop("GET", "orders", params=params)

        assert error_of(response) == (400, "invalid")
        assert response.json()["error"]["message"].startswith("customer:")


def test_an_unknown_order_is_a_404(shop):
    assert error_of(shop("GET", "orders/999999")) == (404, "not_found")
    refund = shop("POST", "orders/999999/refund", json={"amount": "1.00", "reason": "late"})
    assert error_of(refund) == (404, "not_found")
    assert refund.json()["error"]["message"] == "No order 999999."


def test_an_unknown_path_is_a_json_404(shop):
    assert error_of(shop("GET", "customers")) == (404, "not_found")


# Who may call --------------------------------------------------------------------------------


def test_a_request_without_the_api_key_is_refused_with_401(shop):
    response = shop("GET", "orders/100234", key="")

    assert error_of(response) == (401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "X-Demo-Shop-Key"


def test_a_request_with_a_wrong_api_key_is_refused_and_changes_nothing(shop):
    response = shop("POST", "orders/100234/refund", key="guess", json={"amount": "10.00", "reason": "late"})

    assert error_of(response) == (401, "bad_api_key")
    assert order("100234").refunded_amount == 0


def test_a_wrong_method_is_a_405(shop):
    assert error_of(shop("DELETE", "orders/100234")) == (405, "method_not_allowed")
    assert error_of(shop("GET", "orders/100234/refund")) == (405, "method_not_allowed")
    assert error_of(shop("PUT", "orders/100412/shipping-address", json={"address": "x"})) == (405, "method_not_allowed")


# Refunds ---------------------------------------------------------------------------------------


def test_a_partial_refund_then_the_rest_refunds_the_order_in_full(shop):
    first = shop("POST", "orders/100234/refund", json={"amount": "50.00", "reason": "Arrived damaged"})

    assert first.status_code == 200
    assert first.json()["order"]["refundable_amount"] == "39.90"
    assert first.json()["refund"] == {"amount": "50.00", "reason": "Arrived damaged"}
    assert order("100234").status == DemoOrder.Status.SHIPPED

    rest = shop("POST", "orders/100234/refund", json={"amount": 39.9, "reason": "Returned"})

    assert rest.json()["order"]["status"] == "refunded"
    assert (order("100234").refunded_amount, order("100234").status) == (Decimal("89.90"), "refunded")


def test_refunding_more_than_is_left_is_a_409_and_changes_nothing(shop):
    response = shop("POST", "orders/100578/refund", json={"amount": "40.00", "reason": "Too slow"})

    assert error_of(response) == (409, "over_refund")
    assert "39.95 EUR still refundable" in response.json()["error"]["message"]
    assert order("100578").refunded_amount == Decimal("20.00")


def test_a_cancelled_order_cannot_be_refunded(shop):
    response = shop("POST", "orders/100691/refund", json={"amount": "5.00", "reason": "Goodwill"})

    assert error_of(response) == (409, "order_cancelled")


def test_two_refunds_at_the_same_time_never_refund_more_than_the_total(shop):
    answers = []

    def refund():
        answers.append(shop("POST", "orders/100234/refund", json={"amount": "60.00", "reason": "Twice?"}))

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert order("100234").refunded_amount == Decimal("60.00")


def test_a_refund_repeated_with_its_idempotency_key_is_made_once_and_answered_the_same(shop):
    body, key = {"amount": "10.00", "reason": "Late"}, {"Idempotency-Key": "run:1:step:2:request_refund:0"}

    first = shop("POST", "orders/100234/refund", json=body, headers=key)
    again = shop("POST", "orders/100234/refund", json=body, headers=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert order("100234").refunded_amount == Decimal("10.00")


def test_a_malformed_refund_is_a_400_naming_the_field(shop):
    cases = {
        "amount": {"amount": "lots", "reason": "Late"},
        "reason": {"amount": "5.00"},
    }
    for field, body in cases.items():
        response = shop("POST", "orders/100234/refund", json=body)

        assert error_of(response) == (400, "invalid")
        assert response.json()["error"]["message"].startswith(f"{field}:")
    negative = shop("POST", "orders/100234/refund", json={"amount": "-5.00", "reason": "Late"})
    assert error_of(negative) == (400, "invalid")
    broken = shop("POST", "orders/100234/refund", content=b"{not json", headers={"Content-Type": "application/json"})
    assert error_of(broken) == (400, "parse_error")
    assert order("100234").refunded_amount == 0


# Shipping addresses -------------------------------------------------------------------------------


def test_an_order_still_in_processing_ships_to_the_new_address(shop):
    address = "Rue de Rivoli 1, 75001 Paris, FR"

    response = shop("POST", "orders/100412/shipping-address", json={"address": address})

    assert response.status_code == 200
    assert response.json()["order"]["shipping_address"] == address == order("100412").shipping_address


def test_a_change_asked_for_as_a_customer_is_refused_on_another_customers_order(shop):
    response = shop(
        "POST", "orders/100412/shipping-address", params={"customer": "shop-ana"},
        json={"address": "Rua Augusta 1, 1100-053 Lisboa, PT"},
    )  # fmt: skip
    refund = shop("POST", "orders/100412/refund", params={"customer": "shop-ana"}, json={
        "amount": "10.00", "reason": "late"})  # fmt: skip

    assert error_of(response) == error_of(refund) == (404, "not_found")
    assert order("100412").shipping_address.startswith("12 rue Oberkampf")
    assert order("100412").refunded_amount == 0


def test_the_address_of_a_shipped_order_can_no_longer_change(shop):
    response = shop("POST", "orders/100234/shipping-address", json={"address": "Somewhere else 1, Porto"})

    assert error_of(response) == (409, "shipped")
    assert order("100234").shipping_address.startswith("Rua das Flores 12")


def test_an_address_change_without_an_address_is_a_400(shop):
    response = shop("POST", "orders/100412/shipping-address", json={"street": "Main St"})

    assert error_of(response) == (400, "invalid")
    assert response.json()["error"]["message"].startswith("address:")


# Simulated slowness ---------------------------------------------------------------------------------


def test_delay_makes_the_shop_answer_that_much_later(shop):
    started = time.monotonic()

    response = shop("GET", "orders/100234", params={"delay": "0.6"})

    assert response.status_code == 200 and time.monotonic() - started >= 0.6


def test_a_delay_that_is_not_a_number_of_seconds_is_a_400(shop):
    for delay in ("soon", "-1", "nan"):
        response = shop("GET", "orders/100234", params={"delay": delay})

        assert error_of(response) == (400, "invalid")
        assert response.json()["error"]["message"].startswith("delay:")


def test_a_delay_is_capped_at_ten_seconds(settings):
    settings.DEMO_SHOP_ALLOW_DELAY = True
    request = Request(RequestFactory().get("/demo-shop/api/orders/100234", {"delay": "3600"}))

    assert delay_asked(request) == 10


def test_delay_is_ignored_where_slowness_may_not_be_simulated(client, settings, demo_orders):
    settings.DEBUG = False
    settings.DEMO_SHOP_ALLOW_DELAY = False
    started = time.monotonic()

    response = client.get("/demo-shop/api/orders/100234?delay=5", HTTP_X_DEMO_SHOP_KEY=settings.DEMO_SHOP_API_KEY)

    assert response.status_code == 200 and time.monotonic() - started < 2


# Demo data ----------------------------------------------------------------------------------------


def test_demo_orders_are_created_once_and_keep_what_a_demo_changed(db):
    assert demo_orders_ensure() == len(DEMO_ORDERS) == 8
    DemoOrder.objects.filter(number="100412").update(shipping_address="Changed in a demo")

    assert demo_orders_ensure() == 0
    assert DemoOrder.objects.count() == 8 and order("100412").shipping_address == "Changed in a demo"
    assert len({found.customer_email for found in DemoOrder.objects.all()}) >= 5
    assert set(DemoOrder.objects.values_list("status", flat=True)) == set(DemoOrder.Status.values)


def test_seed_demo_creates_the_demo_orders(settings):
    settings.DEBUG = True

    call_command("seed_demo", stdout=StringIO())

    assert set(DemoOrder.objects.values_list("number", flat=True)) == {number for number, *_ in DEMO_ORDERS}
