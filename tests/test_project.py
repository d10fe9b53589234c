"""The project as a whole: services under test, settings, deployment files, demo data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.db import connection

from orders.models import Order

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql():
    if os.environ.get("REQUIRE_TEST_SERVICES") != "1" and connection.vendor != "postgresql":
        pytest.skip("outside `make test`")
    assert connection.vendor == "postgresql"


def test_redis_answers(redis_url):
    import redis

    assert redis.Redis.from_url(redis_url).ping()


def test_docker_compose_has_the_production_services_with_their_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat"):
        service = services[name]
        env = service.get("environment", {})
        env_text = " ".join(env) if isinstance(env, list) else " ".join(env)
        for setting in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
            assert setting in env_text or "env_file" in service, (name, setting)
        assert "depends_on" in service
    assert "migrate" in " ".join(
        services["web"]["command"] if isinstance(services["web"]["command"], list) else [services["web"]["command"]]
    )
    assert "gunicorn" in str(services["web"]["command"])
    assert "celery" in str(services["worker"]["command"]) and "worker" in str(services["worker"]["command"])
    assert "beat" in str(services["beat"]["command"])
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert {"pgdata", "media"} <= set(compose["volumes"])


def test_env_example_lists_every_setting():
    text = (ROOT / ".env.example").read_text()
    for name in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "ALLOWED_HOSTS",
        "DEBUG",
        "EMAIL_URL",
    ):
        assert f"{name}=" in text


def test_production_settings_pass_check_deploy():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "ALLOWED_HOSTS": "sklep.example.pl",
        "SECRET_KEY": "x9$kq!Pz7@vL2#wR8^mN4&bT6*hJ1(cF5)dG3_sA0+eY-uI=oK;lZ,jX.nM/pQ",
        "FIELD_ENCRYPTION_KEY": "n2S0tqV3m1l6qQyTJdN4w3h6m1b8yJc7cU0aQm5oZxE=",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_makes_valid_polish_orders(settings):
    from stdnum import ean
    from stdnum.pl import nip

    settings.DEBUG = True  # seed_demo refuses under DEBUG=false without --force
    call_command("seed_demo", orders=40)
    call_command("seed_demo", orders=40)

    assert Order.objects.count() == 40
    assert Order.objects.filter(currency="EUR").exists() or Order.objects.count() < 100
    for order in Order.objects.prefetch_related("items"):
        if order.invoice_nip:
            assert nip.is_valid(order.invoice_nip)
        for item in order.items.all():
            assert not item.ean or ean.is_valid(item.ean)
        assert order.total_gross == sum(i.gross for i in order.items.all())
    assert Order.objects.values("channel").distinct().count() > 2
    from django.contrib.auth import get_user_model

    assert set(get_user_model().objects.values_list("username", flat=True)) >= {"admin", "obsluga"}
