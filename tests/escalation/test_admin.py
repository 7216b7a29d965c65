"""An area's escalation policy is changed in administration as a new, validated version."""

from __future__ import annotations

import copy
import json

from django.urls import reverse

from escalation.models import EscalationPolicy
from escalation.policy import default_document, rules_for_area


def test_a_new_version_is_validated_and_takes_effect(client_for, admin, kit):
    client = client_for(admin)
    url = reverse("admin:escalation_escalationpolicy_add")
    document = copy.deepcopy(default_document())
    document["acknowledge_within"]["high"] = {"hours": 4}
    broken = copy.deepcopy(document)
    broken["tiers"] = ["everyone"]
    response = client.post(url, {"area": kit.area.pk, "version": 2, "document": json.dumps(broken), "note": "x"})
    assert response.status_code == 200
    assert "tiers[0]: must be one of" in response.content.decode()
    assert not EscalationPolicy.objects.exists()
    response = client.post(
        url, {"area": kit.area.pk, "version": 2, "document": json.dumps(document), "note": "High in four hours."}
    )
    assert response.status_code == 302
    assert rules_for_area(kit.area.pk).acknowledge_within["high"] == {"hours": 4}
    response = client.post(url, {"area": kit.area.pk, "version": 2, "document": json.dumps(document), "note": "again"})
    assert "Give a version above 2" in response.content.decode()
