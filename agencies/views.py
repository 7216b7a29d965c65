from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render

from agencies.forms import SignInForm


class SignInView(auth_views.LoginView):
    template_name = "agencies/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


def home(request):
    user = request.user
    roles = [grant.get_role_display() for grant in user.role_grants.all()]
    return render(request, "agencies/home.html", {"roles": roles})
