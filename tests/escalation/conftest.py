from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _deliveries_in_process(eager):
    """Deliveries queued after commit run here, so a test sees the notifications a user would.
    The real worker, broker and mail server are proven in tests/integration/test_escalation_faults.py."""
