"""Strong sign-in: a second factor (TOTP), session time limits, and a record of every attempt.

django-axes locks an account out after repeated failures (settings AXES_*). After the password,
every user proves a second factor with an authenticator app; the first time, they set one up. The
embedded default may let demo accounts skip the second factor (JIGSAW_DEMO_SKIPS_SECOND_FACTOR);
production refuses that setting.
"""

from __future__ import annotations

import base64
import io
import time

import qrcode
import qrcode.image.svg
import structlog
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

log = structlog.get_logger("jigsaw.signin")

SIGNED_IN_AT = "jigsaw_signed_in_at"


def second_factor_needed(user) -> bool:
    if not user.is_authenticated or user.is_verified():
        return False
    demo_exempt = settings.JIGSAW_DEMO_ENABLED and settings.JIGSAW_DEMO_SKIPS_SECOND_FACTOR
    return not (demo_exempt and user.is_demo)


SEEN_AT = "jigsaw_seen_at"
IDLE_CLOCK_GRANULARITY = 60


class SessionPolicyMiddleware:
    """Ends sessions past their absolute lifetime and holds signed-in users at the second factor."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = None

    def _exempt_paths(self) -> set[str]:
        if self.exempt is None:
            self.exempt = {
                reverse("two-factor"),
                reverse("two-factor-set-up"),
                reverse("sign-out"),
                reverse("healthz"),
            }
        return self.exempt

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            limit = settings.JIGSAW_SESSION_ABSOLUTE_HOURS * 3600
            if started is None or time.time() - started > limit:
                log.info("session_expired", user_id=user.pk, reason="absolute lifetime")
                logout(request)
                messages.info(request, "You were signed out because your session reached its time limit.")
                return redirect(f"{reverse('sign-in')}?next={request.path}")
            if time.time() - request.session.get(SEEN_AT, 0) > IDLE_CLOCK_GRANULARITY:
                request.session[SEEN_AT] = time.time()  # modifies the session: it is saved, its expiry pushed on
            if second_factor_needed(user) and not self._is_exempt(request.path):
                target = "two-factor" if user_has_device(user) else "two-factor-set-up"
                return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)

    def _is_exempt(self, path: str) -> bool:
        # The API answers for itself (api.authentication refuses a session still at its second factor).
        return path in self._exempt_paths() or path.startswith((settings.STATIC_URL, "/api/"))


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()
    log.info("signed_in", user_id=user.pk, username=user.get_username())


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    log.info("signed_out", user_id=getattr(user, "pk", None))


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    log.warning(
        "sign_in_failed",
        username=credentials.get("username", ""),
        ip=request.META.get("REMOTE_ADDR") if request else None,
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Security code",
        help_text="The 6-digit code your authenticator app shows now.",
        max_length=8,
        error_messages={"required": "Enter the 6-digit security code"},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "class": "govuk-input--width-5",
            }
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not (token.isdigit() and len(token) == 6):
            raise forms.ValidationError("Enter the 6-digit security code, numbers only")
        return token


def _next(request) -> str:
    target = request.GET.get("next") or request.POST.get("next") or ""
    from django.utils.http import url_has_allowed_host_and_scheme

    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


@require_http_methods(["GET", "POST"])
def two_factor(request):
    user = request.user
    if user.is_verified():
        return redirect(_next(request))
    if not user_has_device(user):
        return redirect("two-factor-set-up")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            log.info("second_factor_passed", user_id=user.pk)
            return redirect(_next(request))
        log.warning("second_factor_failed", user_id=user.pk)
        form.add_error("token", "The security code is wrong or has expired. Enter the code your app shows now")
    return render(request, "agencies/two_factor.html", {"form": form, "next": _next(request)})


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@require_http_methods(["GET", "POST"])
def two_factor_set_up(request):
    user = request.user
    if user_has_device(user):
        return redirect("two-factor")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            log.info("second_factor_set_up", user_id=user.pk)
            messages.success(request, "Your authenticator app is set up. You will need it each time you sign in.")
            return redirect(_next(request))
        form.add_error("token", "The security code does not match. Check the key and enter the code your app shows now")
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "agencies/two_factor_set_up.html",
        {
            "form": form,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - SVG built here from our own URI
            "next": _next(request),
        },
    )
