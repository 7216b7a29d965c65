from __future__ import annotations

import structlog


class RequestIdHeaderMiddleware:
    """Echo the request id that django-structlog bound to this request's log lines.

    Support staff can then find every log line of a request a user reports.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            response["X-Request-ID"] = str(request_id)
        return response
