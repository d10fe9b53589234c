"""One rate limiter shared by every worker: Redis when a broker is configured, in-process otherwise.

A sliding window per key (e.g. "infakt:write:<integration>"): `acquire()` waits until a request may go out, so bulk
issuance queues instead of provoking 429s.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager

from django.conf import settings

_LUA = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class LocalWindow:
    def __init__(self):
        self.lock = threading.Lock()
        self.events: dict[str, deque] = {}

    def try_acquire(self, key: str, limit: int, window: float) -> float:
        now = time.monotonic()
        with self.lock:
            events = self.events.setdefault(key, deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) < limit:
                events.append(now)
                return 0.0
            return events[0] + window - now


class RedisWindow:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_LUA)

    def try_acquire(self, key: str, limit: int, window: float) -> float:
        wait = self.script(keys=[f"ratelimit:{key}"], args=[time.time(), window, limit, uuid.uuid4().hex])
        return float(wait)


_local = LocalWindow()
_backends: dict[str, RedisWindow] = {}


def _backend():
    url = getattr(settings, "RATE_LIMIT_REDIS_URL", "") or (
        settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis") else ""
    )
    if not url:
        return _local
    if url not in _backends:
        _backends[url] = RedisWindow(url)
    return _backends[url]


_on_wait: contextvars.ContextVar = contextvars.ContextVar("ratelimit_on_wait", default=None)


@contextmanager
def while_waiting(callback):
    """Call `callback()` before every pause in this context (the limiter's waits, a caller's polling pauses), e.g.
    to renew a lease the caller holds; whatever it raises (the lease was lost) ends the wait."""
    token = _on_wait.set(callback)
    try:
        yield
    finally:
        _on_wait.reset(token)


def waiting() -> None:
    """About to pause: let the holder of a lease renew it (see `while_waiting`)."""
    callback = _on_wait.get()
    if callback is not None:
        callback()


def acquire(key: str, *, limit: int, window: float = 60.0, max_wait: float = 300.0) -> float:
    """Block until a request under `key` may be sent; returns the seconds waited."""
    waited = 0.0
    backend = _backend()
    while True:
        wait = backend.try_acquire(key, limit, window)
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise TimeoutError(f"rate limit {key}: no slot within {max_wait:.0f} s")
        waiting()
        time.sleep(wait + 0.01)
        waited += wait + 0.01
