"""A token bucket per name, shared by every worker: registries (contacts) and
mail sending draw from it.

With REDIS_URL the buckets live in Redis, so every worker on every machine
shares them. Without it (the embedded mode: one process, in-process tasks)
they fall back to a process-local equivalent with the same behaviour.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

import redis
from django.conf import settings

_LOCAL_BUCKETS: dict[str, tuple[float, float]] = {}
_LOCAL_BUCKETS_GUARD = threading.Lock()

# Take one token; refill at rate tokens/second up to capacity. Returns the
# seconds to wait (0 when the token was taken), as a string: Redis would
# truncate a Lua number to an integer.
_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis | None:
    url = settings.REDIS_URL
    return _client(url) if url else None


def bucket_take(name: str, *, capacity: float, per_second: float) -> float:
    """Take one token from bucket ``name``: 0.0 when granted, else seconds to wait."""
    now = time.time()
    client = redis_client()
    if client is not None:
        wait = client.eval(
            _BUCKET_LUA, 1, f"outreach:rdap:bucket:{name}", capacity, per_second, repr(now)
        )
        return float(wait)
    with _LOCAL_BUCKETS_GUARD:
        tokens, at = _LOCAL_BUCKETS.get(name, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - at) * per_second)
        if tokens >= 1:
            _LOCAL_BUCKETS[name] = (tokens - 1, now)
            return 0.0
        _LOCAL_BUCKETS[name] = (tokens, now)
        return (1 - tokens) / per_second


def buckets_reset() -> None:
    """Refill every bucket (tests and the lab; production lets them expire)."""
    with _LOCAL_BUCKETS_GUARD:
        _LOCAL_BUCKETS.clear()
    client = redis_client()
    if client is not None:
        for key in client.scan_iter("outreach:rdap:bucket:*"):
            client.delete(key)
