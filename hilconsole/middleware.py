"""Middleware of the console as a whole."""


class SyncRequestChain:
    """Last in MIDDLEWARE, so that the whole chain runs in sync mode under ASGI.

    Django adapts each middleware to the mode of the one inside it, starting from the async
    handler. With an async-capable middleware last, every `MiddlewareMixin` above it ran in async
    mode, which hops into a thread and back for each `process_request` and `process_response`:
    about ten thread hops per request, for middleware that all do sync work. Sync-only and last,
    this one makes every middleware above it sync: the request enters its thread once, and
    comes back to the event loop once, for the view. It only passes the request on, so it
    changes nothing of what django-axes, placed just before it, does with the response.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
