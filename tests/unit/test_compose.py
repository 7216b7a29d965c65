"""docker-compose.yml describes the production shape, with commands and variables the project has."""

from __future__ import annotations

import importlib
import re
import subprocess

import pytest
import yaml
from django.core.management import get_commands

from tests.helpers import REPO

APP_SERVICES = ("web", "worker", "packs", "beat", "migrate")


def settings_variables() -> set[str]:
    names = {"DJANGO_SETTINGS_MODULE"}
    for path in (REPO / "config" / "settings").glob("*.py"):
        names |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    return names


@pytest.fixture(scope="module")
def compose():
    result = subprocess.run(
        ["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.external
def test_compose_has_every_production_part_with_health_checks(compose):
    services = compose["services"]
    assert {"web", "worker", "packs", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "packs", "beat", "db", "redis"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "--appendonly" in services["redis"]["command"]
    mounted = {
        v["target"] if isinstance(v, dict) else v.split(":")[1] for s in services.values() for v in s.get("volumes", [])
    }
    assert {"/var/lib/postgresql/data", "/data", "/var/lib/jigsaw"} <= mounted
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "beat"}


@pytest.mark.external
def test_compose_commands_are_ones_the_project_has(compose):
    services = compose["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn"
    module, _, attribute = web[1].partition(":")
    assert hasattr(importlib.import_module(module), attribute)
    for name in ("worker", "packs", "beat"):
        command = services[name]["command"]
        assert command[0] == "celery"
        app = command[1].removeprefix("--app=")
        assert importlib.import_module(app).celery_app.main == "jigsaw"
    assert services["worker"]["command"][2] == "worker"
    # Packs render on their own queue in a worker whose process is replaced after every render.
    assert services["packs"]["command"][2] == "worker"
    assert {"--queues=packs", "--max-tasks-per-child=1"} <= set(services["packs"]["command"])
    assert services["beat"]["command"][2] == "beat"
    migrate = services["migrate"]["command"]
    assert migrate[:2] == ["python", "manage.py"] and migrate[2] in get_commands()


@pytest.mark.external
def test_compose_variables_are_ones_the_settings_read_and_readme_documents(compose):
    known = settings_variables()
    readme = (REPO / "README.md").read_text()
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        for variable in environment:
            base = variable.removesuffix("_FILE")
            assert base in known, f"{name} sets {variable}, which the settings never read"
            assert f"`{base}`" in readme, f"README.md does not document {base}"


def test_readme_documents_every_variable_the_settings_read():
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in settings_variables() if f"`{name}`" not in readme)
    assert not missing, f"README.md does not document {missing}"
