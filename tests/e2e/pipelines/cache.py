"""Caching across runs that share a --workdir.

Proves: a cacheable task whose output is random (time + uuid) returns the same value on a second run
(a cache hit), as does its downstream task; a task with ``set_caching_options(False)`` runs again and
returns a new value; a different input value misses the cache.
"""

from kfp import dsl


@dsl.component
def stamp(seed: str) -> str:
    import time
    import uuid
    return f'{seed}-{time.time()}-{uuid.uuid4()}'


@dsl.component
def suffix(text: str) -> str:
    return text + '-seen'


@dsl.pipeline(name='cache')
def cache(seed: str = 'a'):
    cached = stamp(seed=seed)
    suffix(text=cached.output)
    stamp(seed=seed).set_caching_options(False)


PIPELINE = cache
