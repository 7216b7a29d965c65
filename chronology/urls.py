from __future__ import annotations

from django.urls import include, path

from chronology import views, views_home, views_search

urlpatterns = [
    path("", views_home.home, name="home"),
    path("children/", views_home.children_list, name="children-list"),
    path("children/find", views_search.child_find, name="child-find"),
    path("children/new", views.child_new, name="child-new"),
    path("children/<int:child_id>/details", views.child_details, name="child-details"),
    path("children/<int:child_id>/household/add", views.household_add, name="household-add"),
    path("children/<int:child_id>/addresses/add", views.address_add, name="address-add"),
    path("children/record-information", views.child_claim, name="child-claim"),
    path("children/break-glass", views.child_break_glass, name="child-break-glass"),
    path("children/<int:child_id>/", views.child_detail, name="child-detail"),
    path("children/<int:child_id>/events/new", views.event_new, name="event-new"),
    path("events/<int:event_id>/amend", views.event_amend, name="event-amend"),
    path("children/<int:child_id>/audit-open", views.child_audit_open, name="child-audit-open"),
    path("children/<int:child_id>/involvements/add", views.involvement_add, name="involvement-add"),
    path("involvements/<int:involvement_id>/end", views.involvement_end, name="involvement-end"),
    path("involvements/<int:involvement_id>/confirm", views.involvement_confirm, name="involvement-confirm"),
    path("involvements/<int:involvement_id>/renew", views.involvement_renew, name="involvement-renew"),
    path("", include("chronology.urls_linkage")),
]
