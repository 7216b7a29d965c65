from __future__ import annotations

import logging

import pytest

from config.logging import logging_config


def test_each_request_gets_an_id_on_its_log_lines_and_in_the_response(anonymous, db, caplog):
    with caplog.at_level(logging.INFO, logger="django_structlog"):
        response = anonymous.get("/sign-in")
    request_id = response["X-Request-ID"]
    assert len(request_id) >= 32
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    finished = next(e for e in events if e.get("event") == "request_finished")
    assert finished["request_id"] == request_id
    assert finished["code"] == 200


def test_a_caller_request_id_is_kept(anonymous, db):
    response = anonymous.get("/sign-in", HTTP_X_REQUEST_ID="abc-123-from-the-proxy")
    assert response["X-Request-ID"] == "abc-123-from-the-proxy"


def test_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="JIGSAW_LOG_FORMAT"):
        logging_config(fmt="xml", level="INFO")
