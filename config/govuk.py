"""Template helpers that dress Django form fields in GOV.UK Frontend classes and ARIA links."""

from __future__ import annotations

from django import template
from django.forms import widgets as forms

register = template.Library()

_CLASS_BY_WIDGET = [
    (forms.Textarea, "govuk-textarea"),
    (forms.Select, "govuk-select"),
    (forms.FileInput, "govuk-file-upload"),
    (forms.Input, "govuk-input"),
]


@register.simple_tag
def govuk_widget(field):
    widget = field.field.widget
    css = next((name for kind, name in _CLASS_BY_WIDGET if isinstance(widget, kind)), "")
    if css and field.errors:
        css += f" {css}--error"
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}-hint")
    if field.errors:
        described_by.append(f"{field.auto_id}-error")
    attrs = {}
    if css:
        existing = widget.attrs.get("class", "")
        attrs["class"] = f"{css} {existing}".strip()
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)
