"""Nested ParallelFor loops with dsl.Collected of parameters and artifacts, one and two levels up.

Proves: inner iterations see both the outer and the inner item (task paths ``outer[i]/inner[j]/...``);
Collected inside the outer loop gathers the inner loop of that outer iteration only; Collected outside
both loops gathers all 2x3 values (parameters: a list of lists; artifacts: a flat list of 6).
"""

from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Input, Output


@dsl.component
def product(a: int, b: int, out: Output[Artifact]) -> int:
    with open(out.path, 'w') as f:
        f.write(f'{a}x{b}')
    out.metadata['value'] = a * b
    return a * b


@dsl.component
def row_sum(values: List[int], arts: Input[List[Artifact]]) -> int:
    assert len(values) == 3 == len(arts), (values, arts)
    assert sorted(int(a.metadata['value']) for a in arts) == sorted(values), ([a.metadata for a in arts], values)
    return sum(values)


@dsl.component
def grand_total(rows: List[int]) -> int:
    assert all(type(r) is int for r in rows), rows
    return sum(rows)


@dsl.component
def all_values(values: list) -> str:
    import json
    return json.dumps(values)


@dsl.component
def all_artifacts(arts: Input[List[Artifact]]) -> str:
    texts = []
    for a in arts:
        with open(a.path) as f:
            texts.append(f.read())
    return ','.join(sorted(texts))


@dsl.pipeline(name='loop-nested-collected')
def loop_nested_collected() -> int:
    with dsl.ParallelFor([1, 2], name='outer') as a:
        with dsl.ParallelFor([10, 20, 30], name='inner') as b:
            p = product(a=a, b=b)
        row = row_sum(values=dsl.Collected(p.outputs['Output']), arts=dsl.Collected(p.outputs['out']))
    all_values(values=dsl.Collected(p.outputs['Output']))
    all_artifacts(arts=dsl.Collected(p.outputs['out']))
    return grand_total(rows=dsl.Collected(row.output)).output


PIPELINE = loop_nested_collected
