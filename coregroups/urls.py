from __future__ import annotations

from django.urls import path

from coregroups import views

urlpatterns = [
    path("children/<int:child_id>/core-group/new", views.core_group_new, name="core-group-new"),
    path("core-groups/<int:group_id>/", views.core_group, name="core-group"),
    path("core-groups/<int:group_id>/members/new", views.member_add, name="core-group-member-add"),
    path("core-groups/<int:group_id>/actions/new", views.action_add, name="core-group-action-add"),
    path("core-groups/<int:group_id>/meetings/new", views.meeting_new, name="meeting-new"),
    path("meetings/<int:meeting_id>/", views.meeting, name="meeting"),
    path("meetings/<int:meeting_id>/packs/new", views.pack_request, name="pack-request"),
    path("packs/<int:pack_id>/progress", views.pack_progress, name="pack-progress"),
    path("packs/<int:pack_id>/issue", views.pack_issue, name="pack-issue"),
    path("packs/<int:pack_id>/review", views.pack_review, name="pack-review"),
    path("packs/<int:pack_id>/pages/<int:page>.png", views.pack_page, name="pack-page"),
    path("packs/<int:pack_id>/pages/<int:page>/reviewed", views.pack_page_reviewed, name="pack-page-reviewed"),
    path("packs/<int:pack_id>/sign-off", views.pack_sign_off, name="pack-sign-off"),
    path("pack-copies/<int:copy_id>.pdf", views.pack_copy, name="pack-copy"),
]
