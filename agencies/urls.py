from __future__ import annotations

from django.urls import path

from agencies import signin, views

urlpatterns = [
    path("sign-in", views.SignInView.as_view(), name="sign-in"),
    path("sign-out", views.SignOutView.as_view(), name="sign-out"),
    path("sign-in/two-factor", signin.two_factor, name="two-factor"),
    path("sign-in/two-factor/set-up", signin.two_factor_set_up, name="two-factor-set-up"),
    path("involvements/to-confirm", views.involvements_to_confirm, name="involvements-to-confirm"),
    path("access/reviews", views.access_reviews, name="access-reviews"),
    path("audit/access-log", views.access_log, name="access-log"),
    path("audit/access-log.csv", views.access_log_csv, name="access-log-csv"),
]
