"""The public widget API (`/api/widget/v1/`): a contract with every embedded widget.

Errors are `{"error": {"code", "message"}}` (hilconsole.api); a request never gets a 500 for
bad input. Rate limits are DRF throttles counted in Redis, per customer token and per IP.
"""

import math
import re
import threading
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from conversations import services
from conversations.errors import ConversationNotFound, NotYourConversation
from conversations.events import assignee_name, message_payload
from conversations.models import Conversation, Inbox, Message
from hilconsole.api import error_responses, validated

# Authentication ----------------------------------------------------------------------------


class InboxTokenAuthentication(BaseAuthentication):
    """`X-Inbox-Token`: which inbox a new conversation belongs to. request.auth is the Inbox."""

    def authenticate(self, request):
        token = request.headers.get("X-Inbox-Token", "").strip()
        if not token:
            return None
        inbox = Inbox.objects.filter(widget_token=token).first()
        if inbox is None:
            raise exceptions.AuthenticationFailed("Unknown inbox token.", code="unknown_inbox_token")
        return AnonymousUser(), inbox

    def authenticate_header(self, request):
        return "X-Inbox-Token"


def bearer_token(request) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without one."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != b"bearer":
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Send the header as: Authorization: Bearer <customer_token>.")
    return parts[1].decode(errors="replace")


class CustomerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <customer_token>`. request.auth is the Customer."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None:
            return None
        customer = services.customer_for_token(token)
        if customer is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or expired customer token: start a new conversation.", code="unknown_customer_token"
            )
        return AnonymousUser(), customer

    def authenticate_header(self, request):
        return 'Bearer realm="widget"'


class InboxTokenScheme(OpenApiAuthenticationExtension):
    target_class = InboxTokenAuthentication
    name = "inboxToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Inbox-Token"}


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = CustomerTokenAuthentication
    name = "customerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The customer_token a new conversation returned."}


def inbox_of(request) -> Inbox:
    return request.auth if isinstance(request.auth, Inbox) else request.auth.inbox


def origin_allowed(inbox: Inbox, origin: str, host: str) -> bool:
    """The inbox's own sites, or the console's own pages (the demo shop). No Origin header
    means no browser is involved, so there is no cross-site request to refuse."""
    if not origin:
        return True
    return inbox.allows_origin(origin) or urlsplit(origin).netloc == host


class WidgetClient(BasePermission):
    """A known inbox or customer token, sent from a site the inbox allows."""

    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated("Send the inbox token (X-Inbox-Token) or a customer token.")
        if not origin_allowed(inbox_of(request), request.headers.get("Origin", ""), request.get_host()):
            raise exceptions.PermissionDenied("This site is not allowed to use this inbox.", code="origin_not_allowed")
        return True


# Rate limits -------------------------------------------------------------------------------


class WidgetThrottle(SimpleRateThrottle):
    """A DRF throttle counting requests per fixed window with one Redis INCR.

    DRF's default keeps each client's request history as a pickled list in the cache (a read
    and a write per request); a counter that expires with its window is one round trip, and the
    widget's views count all their throttles in that one (`throttles_allow`).
    """

    def get_rate(self):
        # Read per request (not at import) so that settings changes apply at once.
        return settings.WIDGET_RATE_LIMITS[self.scope]

    def counter(self, request, view) -> str | None:
        """The Redis key counting this client's requests in the current window (None: not
        limited by this throttle)."""
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        window_started = int(time.time()) // self.duration * self.duration
        self.wait_seconds = window_started + self.duration - time.time()
        return f"hil:throttle:{key}:{window_started}"

    def allow_request(self, request, view):
        return throttles_allow(request, view, [self]) == [True]

    def wait(self):
        return max(1, math.ceil(self.wait_seconds))


def throttles_allow(request, view, throttles: list[WidgetThrottle]) -> list[bool]:
    """Count this request against each throttle in one Redis round trip: whether each allows it."""
    counters = [throttle.counter(request, view) for throttle in throttles]
    pipeline = throttle_redis().pipeline(transaction=False)  # INCR alone decides: no MULTI needed
    for throttle, counter in zip(throttles, counters, strict=True):
        if counter is not None:
            pipeline.incr(counter)
            pipeline.expire(counter, throttle.duration + 1)
    counts = iter(pipeline.execute()[::2] if any(counters) else ())
    return [
        counter is None or next(counts) <= throttle.num_requests
        for throttle, counter in zip(throttles, counters, strict=True)
    ]


_throttle_redis: redis.Redis | None = None
_throttle_redis_lock = threading.Lock()


def throttle_redis() -> redis.Redis:
    """This process's one Redis client for throttles, made once under a lock: concurrent first
    requests each making their own (an unlocked cache) left the extra clients to be collected
    with their connection pools while the process ran, and a collected pool's cleanup broke a
    socket another request was reading (a 500 under a burst at start)."""
    global _throttle_redis
    with _throttle_redis_lock:
        if _throttle_redis is None:
            _throttle_redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return _throttle_redis


class PerIPThrottle(WidgetThrottle):
    scope = "per_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PerCustomerThrottle(WidgetThrottle):
    scope = "per_customer"

    def get_cache_key(self, request, view):
        if not hasattr(request.auth, "inbox_id"):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


# Errors ------------------------------------------------------------------------------------


class ContentTooLong(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "content_too_long"


# Views -------------------------------------------------------------------------------------


class CustomerIn(serializers.Serializer):
    identifier = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    identifier_hash = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": "Must be the HMAC-SHA256 of the identifier: 64 hexadecimal characters."},
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")


class ConversationIn(serializers.Serializer):
    customer = CustomerIn(required=False, default=dict)


class MessageIn(serializers.Serializer):
    content = serializers.CharField(validators=[RegexValidator(r"\S", "A message needs some text.")])
    client_message_id = serializers.CharField(max_length=64)


class RatingIn(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# What the widget API answers, for the OpenAPI schema.


class InboxOut(serializers.Serializer):
    name = serializers.CharField()
    greeting = serializers.CharField()
    csat_enabled = serializers.BooleanField()


class ConversationOut(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    customer_token = serializers.CharField(help_text="Shown once; send it as Authorization: Bearer <customer_token>.")
    status = serializers.ChoiceField(Conversation.Status.choices)
    inbox = InboxOut()


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.ChoiceField(Message.Sender.choices)
    author_name = serializers.CharField(allow_blank=True)
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    client_message_id = serializers.CharField(allow_null=True)
    sources = serializers.ListField(
        child=serializers.CharField(), help_text="Titles of the articles an AI reply cites."
    )


class HistoryOut(serializers.Serializer):
    status = serializers.ChoiceField(Conversation.Status.choices)
    assignee_name = serializers.CharField(allow_null=True)
    csat_given = serializers.BooleanField()
    messages = MessageOut(many=True)
    has_more = serializers.BooleanField()


class RatingOut(serializers.Serializer):
    rating = serializers.IntegerField()


class CustomerTokenOut(serializers.Serializer):
    customer_token = serializers.CharField()


AFTER = OpenApiParameter(
    "after", int, description="Only messages after this message id (0, the default: from the start).", required=False
)


class WidgetView(APIView):
    permission_classes = [WidgetClient]
    throttle_classes = [PerIPThrottle, PerCustomerThrottle]

    def check_throttles(self, request):
        """DRF's check, with every throttle counted in one Redis round trip."""
        throttles = self.get_throttles()
        allowed = throttles_allow(request, self, throttles)
        waits = [throttle.wait() for throttle, passed in zip(throttles, allowed, strict=True) if not passed]
        if waits:
            self.throttled(request, max(waits))


class ConversationCreate(WidgetView):
    authentication_classes = [InboxTokenAuthentication]

    @extend_schema(
        tags=["widget"],
        operation_id="widget_conversation_start",
        summary="Start a conversation, or resume a verified customer's open one",
        request=ConversationIn,
        responses={
            201: ConversationOut,
            200: OpenApiResponse(ConversationOut, description="A verified customer's open conversation, resumed."),
            **error_responses(400, 401, 403, 413, 415, 429),
        },
    )
    def post(self, request):
        data = validated(ConversationIn, request.data)
        customer = {key: value.strip() for key, value in data["customer"].items()}
        conversation, token, created = services.conversation_open(request.auth, **customer)
        inbox = request.auth
        body = {
            "conversation_id": conversation.pk,
            "customer_token": token,
            "status": conversation.status,
            "inbox": {"name": inbox.name, "greeting": inbox.greeting, "csat_enabled": inbox.csat_enabled},
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CustomerConversationView(WidgetView):
    authentication_classes = [CustomerTokenAuthentication]

    def conversation(self, conversation_id: int) -> Conversation:
        conversation = Conversation.objects.select_related("assignee").filter(pk=conversation_id).first()
        if conversation is None:
            raise ConversationNotFound()
        if conversation.customer_id != self.request.auth.pk:
            raise NotYourConversation()
        return conversation


MESSAGE_PAGE = 100
# A message id: ASCII digits, few enough for a PostgreSQL bigint.
MESSAGE_ID = re.compile(r"[0-9]{1,18}")


class ConversationMessages(CustomerConversationView):
    @extend_schema(
        tags=["widget"],
        operation_id="widget_messages_list",
        summary="The conversation's messages (100 a page; internal notes never)",
        parameters=[AFTER],
        responses={200: HistoryOut, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request, conversation_id):
        conversation = self.conversation(conversation_id)
        after = request.query_params.get("after", "0")
        # Not str.isdigit(): it takes "²" and "١٢", which int() then refuses.
        if not MESSAGE_ID.fullmatch(after):
            raise exceptions.ValidationError({"after": ["Must be a message id (a whole number ≥ 0)."]})
        visible = conversation.messages.exclude(sender=Message.Sender.NOTE).filter(id__gt=int(after))
        page = list(visible.select_related("author", "conversation__customer")[: MESSAGE_PAGE + 1])
        return Response(
            {
                "status": conversation.status,
                "assignee_name": assignee_name(conversation),
                "csat_given": conversation.csat_rating is not None,
                "messages": [message_payload(message) for message in page[:MESSAGE_PAGE]],
                "has_more": len(page) > MESSAGE_PAGE,
            }
        )

    @extend_schema(
        tags=["widget"],
        operation_id="widget_message_send",
        summary="Send a customer message (idempotent on client_message_id)",
        request=MessageIn,
        responses={
            202: MessageOut,
            200: OpenApiResponse(MessageOut, description="This client_message_id was sent before: the same message."),
            **error_responses(400, 401, 403, 404, 409, 413, 415, 429),
        },
    )
    def post(self, request, conversation_id):
        data = validated(MessageIn, request.data)
        limit = settings.WIDGET_MAX_MESSAGE_CHARS
        if len(data["content"]) > limit:
            raise ContentTooLong(f"A message can be at most {limit} characters long ({len(data['content'])} sent).")
        # The service checks that the conversation is this customer's, on the row it locks.
        message, created = services.message_post_from_customer(
            conversation_id, content=data["content"], client_message_id=data["client_message_id"], customer=request.auth
        )
        return Response(message_payload(message), status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ConversationRating(CustomerConversationView):
    @extend_schema(
        tags=["widget"],
        operation_id="widget_conversation_rate",
        summary="Rate the conversation (once, after a person resolved it)",
        request=RatingIn,
        responses={201: RatingOut, **error_responses(400, 401, 403, 404, 409, 413, 415, 429)},
    )
    def post(self, request, conversation_id):
        conversation = self.conversation(conversation_id)
        data = validated(RatingIn, request.data)
        services.conversation_rate(conversation.pk, rating=data["rating"], comment=data["comment"])
        return Response({"rating": data["rating"]}, status=status.HTTP_201_CREATED)


class CustomerTokenRotation(WidgetView):
    """A new customer token for this widget session; the one sent stops working at once."""

    authentication_classes = [CustomerTokenAuthentication]

    @extend_schema(
        tags=["widget"],
        operation_id="widget_customer_token_rotate",
        summary="Replace the customer token; the one sent stops working",
        request=None,
        responses={201: CustomerTokenOut, **error_responses(401, 403, 413, 429)},
    )
    def post(self, request):
        token = services.customer_token_rotate(bearer_token(request))
        if token is None:  # rotated by a concurrent request a moment ago
            raise exceptions.AuthenticationFailed(
                "This customer token was just replaced.", code="unknown_customer_token"
            )
        return Response({"customer_token": token}, status=status.HTTP_201_CREATED)
