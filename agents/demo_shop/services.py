"""Every write to the demo shop's orders. Each runs in a transaction holding the order's row lock.

A write may carry an idempotency key (the tools send their call's key): the first request with
a key does the work and stores its answer; a repeat gets the stored answer back and changes
nothing, so a client that timed out and tried again never refunds twice.
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import DemoOrder
from hilconsole.errors import DomainError

S = DemoOrder.Status

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
_IN_PROGRESS = "in-progress"


class OrderRefused(DomainError):
    """The shop refuses a change in the order's current state."""

    status = 409
    code = "refused"


class OrderNotFound(DomainError):
    status = 404
    code = "not_found"


def order_payload(order: DemoOrder) -> dict:
    return {
        "number": order.number,
        "customer_email": order.customer_email,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "refunded_amount": str(order.refunded_amount),
        "refundable_amount": str(order.total - order.refunded_amount),
        "shipping_address": order.shipping_address,
        "carrier": order.carrier,
        "placed_at": order.placed_at.isoformat(),
    }


def order_tracking(order: DemoOrder) -> dict:
    """What the shop's public tracking page shows anyone with the number: no address, no money."""
    return {"number": order.number, "status": order.status, "carrier": order.carrier}


def order_refund(
    number: str, *, amount: Decimal, reason: str, customer: str = "", idempotency_key: str = ""
) -> tuple[dict, bool]:
    """Refund part or all of an order (of `customer`, when given). Returns (the answer, whether
    it was a replay)."""
    return _once("refund", number, idempotency_key, lambda: _refund(number, customer, amount, reason))


def order_shipping_address_change(
    number: str, *, address: str, customer: str = "", idempotency_key: str = ""
) -> tuple[dict, bool]:
    """Ship to another address, as long as the order has not left the warehouse."""
    return _once("shipping-address", number, idempotency_key, lambda: _change_address(number, customer, address))


def _refund(number: str, customer: str, amount: Decimal, reason: str) -> dict:
    with transaction.atomic():
        # The lock orders concurrent refunds of one order, so two of them cannot both pass
        # the over-refund check against the same refunded amount.
        order = _locked(number, customer)
        if order.status == S.CANCELLED:
            raise OrderRefused(f"Order {number} was cancelled: there is nothing to refund.", code="order_cancelled")
        refundable = order.total - order.refunded_amount
        if amount > refundable:
            raise OrderRefused(
                f"A refund of {amount} {order.currency} exceeds the {refundable} {order.currency} "
                f"still refundable on order {number}.",
                code="over_refund",
            )
        order.refunded_amount += amount
        if order.refunded_amount == order.total:
            order.status = S.REFUNDED
        order.save(update_fields=["refunded_amount", "status"])
    return {"order": order_payload(order), "refund": {"amount": str(amount), "reason": reason}}


def _change_address(number: str, customer: str, address: str) -> dict:
    with transaction.atomic():
        order = _locked(number, customer)
        if order.status in (S.SHIPPED, S.DELIVERED):
            raise OrderRefused(f"Order {number} has already shipped: its address can no longer change.", code="shipped")
        if order.status != S.PROCESSING:
            raise OrderRefused(f"Order {number} is {order.status}: it will not ship.", code="order_closed")
        order.shipping_address = address
        order.save(update_fields=["shipping_address"])
    return {"order": order_payload(order)}


def _locked(number: str, customer: str) -> DemoOrder:
    order = orders_of(customer).select_for_update().filter(number=number).first()
    if order is None:
        raise OrderNotFound(f"No order {number}.")
    return order


def orders_of(customer: str = "") -> QuerySet[DemoOrder]:
    """The orders of one of the shop's customer accounts, by the shop's id of it ("shop-ana"): the
    orders placed with the account's email address. Every order when no customer is named."""
    orders = DemoOrder.objects.all()
    if not customer:
        return orders
    email = ACCOUNT_EMAILS.get(customer)
    return orders.filter(customer_email__iexact=email) if email else orders.none()


def _once(operation: str, number: str, idempotency_key: str, perform: Callable[[], dict]) -> tuple[dict, bool]:
    if not idempotency_key:
        return perform(), False
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    slot = f"demo-shop:idempotency:{operation}:{number}:{digest}"
    # The shop has no table for keys (its model is fixed), so they live in Redis. `add` is an
    # atomic SET NX: of two requests with one key, exactly one does the work.
    if not cache.add(slot, _IN_PROGRESS, IDEMPOTENCY_TTL_SECONDS):
        answer = cache.get(slot)
        if answer == _IN_PROGRESS or answer is None:
            raise OrderRefused("A request with this Idempotency-Key is still being processed.", code="in_progress")
        return answer, True
    try:
        answer = perform()
    except BaseException:
        # Nothing was written: the same key may try again.
        cache.delete(slot)
        raise
    cache.set(slot, answer, IDEMPOTENCY_TTL_SECONDS)
    return answer, False


# Demo data --------------------------------------------------------------------------------

# The shop's customer accounts: (the shop's id of the account, its email address, the name).
DEMO_CUSTOMERS = [
    ("shop-ana", "ana.silva@demo.example", "Ana Silva"),
    ("shop-marc", "marc.dubois@demo.example", "Marc Dubois"),
    ("shop-lena", "lena.becker@demo.example", "Lena Becker"),
    ("shop-tom", "tom.hughes@demo.example", "Tom Hughes"),
    ("shop-sofia", "sofia.rossi@demo.example", "Sofia Rossi"),
    ("shop-jonas", "jonas.berg@demo.example", "Jonas Berg"),
]
ACCOUNT_EMAILS = {account: email for account, email, _ in DEMO_CUSTOMERS}

# (number, customer email, status, total, refunded, shipping address, days ago)
DEMO_ORDERS = [
    ("100234", "ana.silva@demo.example", S.SHIPPED, "89.90", "0", "Rua das Flores 12, 1200-195 Lisboa, PT", 3),
    ("100235", "ana.silva@demo.example", S.DELIVERED, "24.50", "0", "Rua das Flores 12, 1200-195 Lisboa, PT", 40),
    ("100412", "marc.dubois@demo.example", S.PROCESSING, "149.00", "0", "12 rue Oberkampf, 75011 Paris, FR", 1),
    ("100578", "lena.becker@demo.example", S.DELIVERED, "59.95", "20.00", "Bergmannstr. 5, 10961 Berlin, DE", 12),
    ("100691", "tom.hughes@demo.example", S.CANCELLED, "35.00", "0", "4 Mill Lane, Leeds LS1 4AB, GB", 8),
    ("100702", "sofia.rossi@demo.example", S.REFUNDED, "42.00", "42.00", "Via Po 18, 10123 Torino, IT", 20),
    ("100871", "marc.dubois@demo.example", S.PROCESSING, "219.99", "0", "12 rue Oberkampf, 75011 Paris, FR", 0),
    ("100903", "jonas.berg@demo.example", S.SHIPPED, "12.99", "0", "Storgatan 3, 111 51 Stockholm, SE", 2),
]
# Who delivered the orders that have shipped.
DEMO_CARRIERS = {"100234": "DHL", "100235": "CTT", "100578": "DHL", "100702": "BRT", "100903": "PostNord"}


def demo_orders_ensure() -> int:
    """Create the demo orders that do not exist yet; returns how many were created. Existing
    orders are left as they are (refunds made in a demo stay made), except that an order
    created before orders had carriers gets its carrier."""
    now = timezone.now()
    created = 0
    with transaction.atomic():
        for number, email, status, total, refunded, address, days_ago in DEMO_ORDERS:
            carrier = DEMO_CARRIERS.get(number, "")
            _, was_created = DemoOrder.objects.get_or_create(
                number=number,
                defaults={
                    "customer_email": email,
                    "status": status,
                    "total": Decimal(total),
                    "refunded_amount": Decimal(refunded),
                    "shipping_address": address,
                    "carrier": carrier,
                    "placed_at": now - timedelta(days=days_ago, hours=2),
                },
            )
            created += was_created
            if not was_created and carrier:
                DemoOrder.objects.filter(number=number, carrier="").update(carrier=carrier)
    return created
