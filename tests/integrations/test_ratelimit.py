import time

import pytest

from integrations import ratelimit


def test_local_window_lets_limit_through_then_makes_the_next_wait():
    window = ratelimit.LocalWindow()
    assert all(window.try_acquire("k", 3, 0.5) == 0 for _ in range(3))
    assert 0 < window.try_acquire("k", 3, 0.5) <= 0.5


def test_redis_window_is_shared_between_clients(redis_url):
    first, second = ratelimit.RedisWindow(redis_url), ratelimit.RedisWindow(redis_url)
    key = f"test-{time.time()}"
    assert first.try_acquire(key, 2, 1.0) == 0
    assert second.try_acquire(key, 2, 1.0) == 0
    assert first.try_acquire(key, 2, 1.0) > 0  # the third request waits, whichever worker sends it


def test_acquire_waits_for_a_slot(settings, redis_url):
    settings.RATE_LIMIT_REDIS_URL = redis_url
    key = f"wait-{time.time()}"
    start = time.monotonic()
    for _ in range(3):
        ratelimit.acquire(key, limit=2, window=0.4)
    assert time.monotonic() - start >= 0.3


def test_acquire_gives_up_after_max_wait():
    with pytest.raises(TimeoutError):
        for _ in range(3):
            ratelimit.acquire("giveup", limit=1, window=10, max_wait=0.1)


def test_every_request_to_one_infakt_host_shares_one_window_even_before_the_integration_is_saved():
    from integrations.models import Integration
    from integrations.registry import provider_for

    unsaved = Integration(provider="infakt", name="x", base_url="https://api.infakt.pl/api/v3")
    unsaved.api_key = "klucz-testowy-1234"
    saved = Integration(pk=7, provider="infakt", name="y", base_url="https://api.infakt.pl/api/v3")
    saved.api_key = "klucz-testowy-5678"
    assert provider_for(unsaved).client.limiter_key == provider_for(saved).client.limiter_key == "infakt:api.infakt.pl"
