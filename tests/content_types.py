"""Test-only: content types read afresh for django-guardian.

Transactional tests empty every table between tests and content types come back with new ids,
which the long-lived test server and worker would otherwise keep cached; their object
permission checks would then look for rows of a content type that no longer exists.
"""

from django.contrib.contenttypes.models import ContentType


def fresh_content_type(obj) -> ContentType:
    ContentType.objects.clear_cache()
    return ContentType.objects.get_for_model(obj)
