from __future__ import annotations

from django.urls import path

from escalation import views_alerts, views_procedures

urlpatterns = [
    path("alerts/", views_alerts.queue, name="alert-queue"),
    path("alerts/<int:alert_id>/", views_alerts.alert_detail, name="alert-detail"),
    path("notifications/", views_alerts.notifications, name="notifications"),
    path("notifications/<int:notification_id>/open", views_alerts.notification_open, name="notification-open"),
    path("children/<int:child_id>/disagreements/new", views_procedures.disagreement_new, name="disagreement-new"),
    path("disagreements/<int:disagreement_id>/", views_procedures.disagreement_detail, name="disagreement-detail"),
    path("referrals/<int:referral_id>/", views_procedures.referral_detail, name="referral-detail"),
    path("children/<int:child_id>/closure/new", views_procedures.closure_new, name="closure-new"),
    path("closures/<int:closure_id>/", views_procedures.closure_detail, name="closure-detail"),
    path("supervision/", views_procedures.supervision, name="supervision"),
]
