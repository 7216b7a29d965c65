from __future__ import annotations

from datetime import date

from django import forms
from django.forms.renderers import TemplatesSetting


class GovukFormRenderer(TemplatesSetting):
    """Render every form field as a GOV.UK Frontend form group (label, hint, error message, input)."""

    field_template_name = "forms/govuk_field.html"


# --- GOV.UK date inputs: three boxes, one error on the day box (where the error summary links) ---------------

DATE_PARTS = (("day", 1, 31), ("month", 1, 12), ("year", 1900, 2100))


def _date_part(name: str, low: int, high: int) -> forms.IntegerField:
    if name == "year":
        message = f"The year must be 4 numbers, from {low} to {high}"
    else:
        message = f"The {name} must be a number from {low} to {high}"
    return forms.IntegerField(
        label=name.capitalize(),
        min_value=low,
        max_value=high,
        required=False,
        error_messages={"invalid": message, "min_value": message, "max_value": message},
    )


def date_parts() -> tuple[forms.IntegerField, forms.IntegerField, forms.IntegerField]:
    """Day, month and year boxes, declared in a form's body: `occurred_day, occurred_month, occurred_year =
    date_parts()`."""
    return tuple(_date_part(*part) for part in DATE_PARTS)


def date_fields(prefix: str) -> dict[str, forms.Field]:
    """The same boxes, added in a form's __init__: `self.fields.update(date_fields("held"))`."""
    return {f"{prefix}_{name}": field for (name, _, _), field in zip(DATE_PARTS, date_parts(), strict=True)}


class DatesMixin:
    """Reads a date from its three boxes, with one error that says what is wrong, in GOV.UK's words."""

    def date_from(self, prefix: str, what: str, *, required: bool) -> date | None:
        """The date in `prefix`_day, _month and _year; `what` finishes "the date ..." ("it happened")."""
        names = [f"{prefix}_{name}" for name, _, _ in DATE_PARTS]
        if any(self.has_error(name) for name in names):
            return None  # a box is already refused, in words
        parts = [self.cleaned_data.get(name) for name in names]
        if all(p is None for p in parts):
            if required:
                self.add_error(names[0], f"Enter the date {what}")
            return None
        missing = [name for (name, _, _), p in zip(DATE_PARTS, parts, strict=True) if p is None]
        if missing:
            self.add_error(names[0], f"The date {what} must include a {' and a '.join(missing)}")
            return None
        try:
            return date(parts[2], parts[1], parts[0])
        except ValueError:
            self.add_error(names[0], f"The date {what} must be a real date")
            return None
