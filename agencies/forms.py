from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from agencies.models import ReviewOutcome


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Enter a correct username and password. Both are case-sensitive.",
        "inactive": "This account cannot sign in. Ask your agency's administrator.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Autofocus would carry screen reader users past the skip link and the page's heading.
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "spellcheck": "false"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Was this access appropriate?",
        choices=ReviewOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the access was appropriate"},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the access was not appropriate: say what follows.",
    )


class AccessLogFilterForm(forms.Form):
    # Ids are 64-bit: a larger number names no row, and SQLite refuses to compare with it.
    child = forms.IntegerField(label="Child id", required=False, min_value=1, max_value=2**63 - 1)
    user = forms.IntegerField(label="User id", required=False, min_value=1, max_value=2**63 - 1)
