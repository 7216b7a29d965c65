from __future__ import annotations

from typing import Any

_OPTION_BY_SETTING = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_FILE_PATH": "file_path",
}


def mailer_from_url(config: dict[str, Any], *, timeout: int = 20) -> dict[str, Any]:
    """Turn django-environ's parse of EMAIL_URL into one entry of Django's MAILERS setting."""
    backend = config["EMAIL_BACKEND"]
    options = {
        option: config[setting]
        for setting, option in _OPTION_BY_SETTING.items()
        if config.get(setting) not in (None, "")
    }
    if backend.endswith("smtp.EmailBackend"):
        options["timeout"] = timeout
    else:
        options = {k: v for k, v in options.items() if k == "file_path"}
    return {"BACKEND": backend, "OPTIONS": options}
