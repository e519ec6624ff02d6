"""ParallelFor over the list output of a task, then dsl.Collected into a sum.

Proves: the number of iterations is decided at run time by an upstream task's output (length given as a
parameter); each iteration's int output is collected, in order, into a List[int] input.
"""

from typing import List

from kfp import dsl


@dsl.component
def make_list(length: int) -> list:
    return [i + 1 for i in range(length)]


@dsl.component
def double(x: int) -> int:
    return 2 * x


@dsl.component
def collect(values: List[int]) -> str:
    import json
    return json.dumps(values)


@dsl.pipeline(name='loop-task-output')
def loop_task_output(length: int = 3) -> str:
    items = make_list(length=length)
    with dsl.ParallelFor(items.output) as x:
        d = double(x=x)
    return collect(values=dsl.Collected(d.output)).output


PIPELINE = loop_task_output
