"""What every JSON API of the console shares: the error shape, the exception handler and
request validation.

Errors are `{"error": {"code", "message"}}`; a request never gets a 500 for bad input.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hilconsole.errors import DomainError


def error_response(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def api_exception_handler(exc, context):
    """Every API error as `{"error": {"code", "message"}}`, keeping DRF's status and headers."""
    if isinstance(exc, DomainError):
        return Response(error_response(exc.code, exc.message), status=exc.status)
    # Django's own 404 and 403 become DRF's, so they carry a code like every other error.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in _flatten(fields))
        response.data = error_response("invalid", message or "Invalid request body.", fields=fields)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_response(code, str(exc.detail))
    return response


def _flatten(fields: dict, prefix: str = ""):
    for name, errors in fields.items():
        if isinstance(errors, dict):
            yield from _flatten(errors, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", errors if isinstance(errors, list) else [errors]


def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_response("not_found", "No such API endpoint."), status=404)


def validated(serializer_class, data) -> dict:
    """`data` (a request's body or query) checked by the serializer; a 400 otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
