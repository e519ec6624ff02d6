"""ParallelFor over a static list with parallelism=2, and dsl.Collected of its outputs.

Proves: one iteration per item (task paths ``for-loop-*[i]/...``), each sees its own item; the
``parallelism=2`` limit holds (every iteration records its start and end time; no more than two overlap);
dsl.Collected gathers the iteration outputs in item order for a downstream task.
"""

from typing import List

from kfp import dsl


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def timed(x: int) -> dict:
    import time
    start = time.time()
    time.sleep(0.2)
    return {'x': x, 'start': start, 'end': time.time()}


@dsl.component
def total(values: List[int]) -> int:
    assert all(type(v) is int for v in values), values
    return sum(values)


@dsl.component
def as_text(values: List[int]) -> str:
    return ','.join(str(v) for v in values)


@dsl.pipeline(name='loop-static-list')
def loop_static_list() -> int:
    with dsl.ParallelFor([1, 2, 3, 4]) as x:
        sq = square(x=x)
    with dsl.ParallelFor([1, 2, 3, 4, 5], parallelism=2) as y:
        timed(x=y)
    as_text(values=dsl.Collected(sq.output))
    return total(values=dsl.Collected(sq.output)).output


PIPELINE = loop_static_list
