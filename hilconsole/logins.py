"""Who is signing in: the client address that sign-in limits (django-axes) count failures by."""

from django.conf import settings
from django.shortcuts import render


def client_ip(request) -> str:
    """The client's address as the widget API's rate limits see it: behind NUM_PROXIES proxies,
    the address the outermost one of ours added to X-Forwarded-For (a client can prepend any
    address it likes, but not append one)."""
    forwarded = request.headers.get("x-forwarded-for")
    proxies = settings.REST_FRAMEWORK["NUM_PROXIES"]
    if not proxies or not forwarded:
        return request.META.get("REMOTE_ADDR", "")
    addresses = forwarded.split(",")
    return addresses[-min(proxies, len(addresses))].strip()


def locked_out(request, original_response=None, credentials=None):
    """The page a refused sign-in gets (429), the same for the desk's sign-in and the admin's."""
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": settings.LOGIN_LOCKOUT_MINUTES}
    return render(request, "registration/locked_out.html", context, status=429)
