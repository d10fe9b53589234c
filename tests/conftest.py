import os

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

# `make test` sets REQUIRE_TEST_SERVICES: then a missing PostgreSQL or Redis fails the run instead of skipping.
REQUIRE_SERVICES = os.environ.get("REQUIRE_TEST_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_statuses(request):
    """Transactional tests flush the database; put back what the data migrations seed."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from orders.services import order_statuses_seed_defaults

    order_statuses_seed_defaults()


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin-test", role="admin")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="obsluga-test", role="staff")


@pytest.fixture
def nobody_user(db):
    return UserFactory(username="bez-roli")


def _api_client(user):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_api(staff_user):
    return _api_client(staff_user)


@pytest.fixture
def admin_api(admin_user):
    return _api_client(admin_user)


@pytest.fixture
def anon_api():
    return _api_client(None)


@pytest.fixture
def nobody_api(nobody_user):
    return _api_client(nobody_user)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("TEST_REDIS_URL is not set: `make test` starts Redis")
        pytest.skip("no Redis (run through `make test`)")
    return url


@pytest.fixture
def fake_nbp():
    import responses

    from tests.fakes.nbp import FakeNbp

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeNbp(mock)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Nothing in a test reaches the internet: a connection to a non-loopback address fails at once."""
    import socket

    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not (host.startswith("127.") or host in ("::1", "localhost")):
            raise ConnectionRefusedError(f"test tried to reach {address}: no internet in tests")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def fake_infakt(settings):
    from integrations.infakt.fake import FakeInfakt

    settings.INFAKT_POLL_SECONDS = 0.01
    settings.INFAKT_TIMEOUT_SECONDS = 1.0
    fake = FakeInfakt(api_key="test-infakt-key-9876")
    fake.slow_seconds = 1.5
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def infakt_integration(db, fake_infakt):
    from integrations.services import integration_save

    return integration_save(
        data={
            "provider": "infakt",
            "name": "Moje inFakt",
            "api_key": fake_infakt.api_key,
            "base_url": fake_infakt.base_url,
        }
    )
