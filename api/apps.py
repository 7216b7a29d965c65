from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from agencies.models import Agency
        from api.reads import generation_renew

        # An agency's name and code are in every chronology entry an agency's system reads.
        post_save.connect(generation_renew, sender=Agency, dispatch_uid="api-reads-agency-saved")
        post_delete.connect(generation_renew, sender=Agency, dispatch_uid="api-reads-agency-deleted")
