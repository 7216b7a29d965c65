"""The settings rules: the embedded default needs nothing; production refuses to start half-configured."""

from __future__ import annotations

import pytest

from tests.helpers import PRODUCTION_ENV, manage


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION_ENV.items() if k != name}


def test_embedded_default_needs_no_environment():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.MAILERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.JIGSAW_DEMO_ENABLED)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.mail.backends.console.EmailBackend",
        "True",
        "True",
    ]


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY"),
        ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS"),
        ("DATABASE_URL", "DATABASE_URL"),
        ("REDIS_URL", "REDIS_URL"),
        ("EMAIL_URL", "EMAIL_URL"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    result = manage("check", env=without(missing))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DJANGO_SECRET_KEY", "short", "at least 50 characters"),
        ("DJANGO_ALLOWED_HOSTS", "", "DJANGO_ALLOWED_HOSTS must name at least one host"),
        ("DATABASE_URL", "sqlite:////tmp/jigsaw.sqlite3", "must name a PostgreSQL database"),
    ],
)
def test_production_refuses_unsafe_values(name, value, message):
    result = manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_deploy_check_is_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_reads_secrets_from_files(tmp_path):
    key = "f1le-" + "Zp4Tq7Wm2Xv9Rb3Ny6Kc8Hs1Jd5Lf0Ga" * 2
    (tmp_path / "key").write_text(key + "\n")
    (tmp_path / "db").write_text("postgres://from:file@db.example.invalid:5432/fromfile\n")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in {"DJANGO_SECRET_KEY", "DATABASE_URL"}}
    env["DJANGO_SECRET_KEY_FILE"] = str(tmp_path / "key")
    env["DATABASE_URL_FILE"] = str(tmp_path / "db")
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY); print(s.DATABASES['default']['NAME'])",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [key, "fromfile"]


def test_production_refuses_demo_data_and_demo_passwords():
    result = manage("seed_demo", env=PRODUCTION_ENV)
    assert result.returncode == 1
    assert "Demo data is refused" in result.stderr

    checked = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s\n"
        "from django.contrib.auth.password_validation import validate_password\n"
        "from django.core.exceptions import ValidationError\n"
        "from agencies.demo import DEMO_PASSWORD\n"
        "print(s.JIGSAW_DEMO_ENABLED)\n"
        "try:\n"
        "    validate_password(DEMO_PASSWORD)\n"
        "except ValidationError as e:\n"
        "    print([m for m in e.messages if 'demo' in m])\n",
        env=PRODUCTION_ENV,
    )
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0] == "False"
    assert "published demo password" in lines[1]


def test_production_logs_json_lines():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "import structlog; structlog.get_logger('t').info('hello', n=1)",
        env=PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if '"hello"' in line)
    assert '"n": 1' in line and '"level": "info"' in line


def test_email_url_names_the_mail_server():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.core import mail; m = mail.mailers['default']; print(m.host, m.port, m.use_tls, m.username)",
        env={"EMAIL_URL": "smtp+tls://relay:pw@mail.example.invalid:587"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["mail.example.invalid", "587", "True", "relay"]
