"""The access log: append-only, browsed and exported by auditors."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.urls import reverse

from agencies.models import AccessLog
from tests.factories import ChildFactory, involve


@pytest.fixture
def logged(client_for, alice, kit):
    client_for(alice).get(reverse("child-detail", args=[kit.pk]))
    return AccessLog.objects.get()


def test_the_application_never_updates_or_deletes_a_row(logged):
    logged.what = "something else"
    with pytest.raises(PermissionError):
        logged.save()
    with pytest.raises(PermissionError):
        logged.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.filter(pk=logged.pk).update(what="x")
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()
    assert AccessLog.objects.get().what == "chronology"


@pytest.mark.external
def test_postgresql_refuses_update_and_delete_on_the_access_log(logged):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL on PostgreSQL (make test sets it)"
    for sql in ("UPDATE agencies_accesslog SET what = 'tampered'", "DELETE FROM agencies_accesslog"):
        with (
            pytest.raises((InternalError, ProgrammingError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AccessLog.objects.get().what == "chronology"


def test_auditor_browses_per_child_and_per_user(client_for, auditor, alice, bob, kit, logged):
    other = ChildFactory(given_name="Other")
    involve(other, bob)
    client_for(bob).get(reverse("child-detail", args=[other.pk]))
    client = client_for(auditor)
    by_child = client.get(reverse("access-log"), {"child": kit.pk}).content.decode()
    assert "Kit Invented" in by_child and "Other Invented" not in by_child
    by_user = client.get(reverse("access-log"), {"user": bob.pk}).content.decode()
    assert "Other Invented" in by_user and "Kit Invented" not in by_user
    everything = client.get(reverse("access-log")).content.decode()
    assert "2 rows" in everything


def test_auditor_exports_the_log_as_csv(client_for, auditor, alice, kit, logged):
    response = client_for(auditor).get(reverse("access-log-csv"), {"child": kit.pk})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="access-log-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["username"] == "alice"
    assert rows[0]["child"] == "Kit Invented"
    assert rows[0]["basis"] == "involvement"
    assert rows[0]["at_utc"].endswith("+00:00")


def test_auditors_see_only_their_own_area(client_for, auditor, far_child):
    from agencies.models import AgencyKind, Role
    from tests.factories import persona

    southmoor_lead = persona("sm-lead", "sm-csc", AgencyKind.CHILDRENS_SOCIAL_CARE, Role.AREA_SAFEGUARDING_LEAD)
    southmoor_lead.agency.area = far_child.area
    southmoor_lead.agency.save()
    client_for(southmoor_lead).get(reverse("child-detail", args=[far_child.pk]))
    assert AccessLog.objects.filter(child=far_child).exists()
    assert "Far Away" not in client_for(auditor).get(reverse("access-log")).content.decode()
    assert client_for(auditor).get(reverse("child-audit-open", args=[far_child.pk])).status_code == 404
