"""ParallelFor over a list pipeline parameter (given with --param as JSON), items being dicts.

Proves: the items come from the run's parameter, not from compile time; sub-field access on items of a
parameter list (an int sub-field arrives as an int); Collected output of the loop as the pipeline output.
"""

from typing import List

from kfp import dsl


@dsl.component
def greet(who: str, times: int) -> str:
    assert type(times) is int, type(times)
    return ' '.join([f'hi {who}'] * times)


@dsl.component
def join(lines: List[str]) -> str:
    return '|'.join(lines)


@dsl.pipeline(name='loop-pipeline-param')
def loop_pipeline_param(people: list = [{'who': 'default', 'times': 1}]) -> str:
    with dsl.ParallelFor(people) as person:
        # (not ``person.name``: ``name`` is an attribute of the SDK's channel object, not a sub-field)
        g = greet(who=person.who, times=person.times)
    return join(lines=dsl.Collected(g.output)).output


PIPELINE = loop_pipeline_param
