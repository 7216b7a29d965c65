"""Pages of the service as a whole, not of any one part of it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def accessibility(request):
    """The accessibility statement: public, so anyone can read it before signing in."""
    return render(request, "accessibility.html")
