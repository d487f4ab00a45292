"""What every JSON API of the console shares: the error shape, the exception handler and
request validation.

Errors are `{"error": {"code", "message"}}`; a request never gets a 500 for bad input.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
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


@csrf_exempt  # a JSON 404 for any method: not a CSRF failure page for a POST with a session cookie
def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_response("not_found", "No such API endpoint."), status=404)


def validated(serializer_class, data) -> dict:
    """`data` (a request's body or query) checked by the serializer; a 400 otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# The error shape in the OpenAPI schema (drf-spectacular) ------------------------------------------


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="For 400 invalid: the message(s) for each field.")


class ErrorOut(serializers.Serializer):
    error = ErrorDetail()


ERROR_MEANINGS = {
    400: "Invalid request (the message names the field).",
    401: "Missing or unknown credentials.",
    403: "Not allowed.",
    404: "No such thing (or none of yours).",
    409: "Refused in the current state.",
    413: "The request or its content is too long.",
    415: "The body is not JSON.",
    429: "Rate-limited: retry after the Retry-After header's seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, for `extend_schema(responses=...)`."""
    return {status: OpenApiResponse(ErrorOut, description=ERROR_MEANINGS[status]) for status in statuses}
