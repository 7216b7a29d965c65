from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class GovukFormRenderer(TemplatesSetting):
    """Render every form field as a GOV.UK Frontend form group (label, hint, error message, input)."""

    field_template_name = "forms/govuk_field.html"
