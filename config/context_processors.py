from __future__ import annotations

from django.conf import settings


def jigsaw(request):
    return {
        "service_name": "Jigsaw",
        "demo_enabled": settings.JIGSAW_DEMO_ENABLED,
    }
