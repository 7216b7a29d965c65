"""Signing in and out, and the base layout every page stands on."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.helpers import current_code


def test_every_page_needs_sign_in(anonymous):
    response = anonymous.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=/"


def test_right_password_then_second_factor_reaches_home(anonymous, alice, password):
    response = anonymous.post(reverse("sign-in"), {"username": "alice", "password": password}, follow=True)
    # the password alone reaches no page: first the authenticator app is set up
    assert response.redirect_chain == [("/", 302), ("/sign-in/two-factor/set-up?next=/", 302)]
    assert "Set up your authenticator app" in response.content.decode()
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    response = anonymous.post(
        "/sign-in/two-factor/set-up?next=/", {"token": current_code(device), "next": "/"}, follow=True
    )
    page = response.content.decode()
    assert f"Welcome, {alice.get_full_name()}" in page
    assert "Practitioner" in page
    assert response.wsgi_request.user == alice


def test_wrong_password_shows_the_error_summary_and_signs_nobody_in(anonymous, alice):
    response = anonymous.post(reverse("sign-in"), {"username": "alice", "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Sign in – Jigsaw</title>" in page
    assert 'class="govuk-error-summary"' in page
    assert "There is a problem" in page
    assert 'href="#id_username">Enter a correct username and password' in page
    assert not response.wsgi_request.user.is_authenticated


def test_empty_fields_are_named_in_the_summary_and_at_the_field(anonymous, db):
    page = anonymous.post(reverse("sign-in"), {"username": "", "password": ""}).content.decode()
    assert 'href="#id_username">This field is required.' in page
    assert 'href="#id_password">This field is required.' in page
    assert 'class="govuk-input govuk-input--error"' in page
    assert 'aria-describedby="id_username-error"' in page


def test_sign_in_never_redirects_off_site(anonymous, alice, password):
    response = anonymous.post(
        reverse("sign-in") + "?next=https://evil.example/",
        {"username": "alice", "password": password, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_out_needs_a_post_and_ends_the_session(client_for, alice):
    client = client_for(alice)
    assert client.get(reverse("sign-out")).status_code == 405
    response = client.post(reverse("sign-out"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_layout_has_skip_link_generic_header_phase_banner_and_british_english(client_for, alice):
    response = client_for(alice).get("/")
    page = response.content.decode()
    assert '<html lang="en-GB"' in page
    assert '<a href="#main-content" class="govuk-skip-link"' in page
    assert 'id="main-content"' in page
    assert 'class="govuk-generic-header"' in page
    assert "govuk-logo" not in page and "crown" not in page.lower()  # not a GOV.UK service
    assert "govuk-phase-banner" in page
    assert "<title>Home – Jigsaw</title>" in page
    assert "Sign out" in page


def test_inline_script_carries_the_csp_nonce(anonymous, db):
    response = anonymous.get(reverse("sign-in"))
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("path", ["/admin/", "/admin/agencies/user/"])
def test_administration_is_for_staff_only(client_for, alice, path):
    response = client_for(alice).get(path)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_unknown_pages_answer_not_found_in_the_layout(client_for, alice):
    response = client_for(alice).get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
