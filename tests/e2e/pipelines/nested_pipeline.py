"""A pipeline used as a component twice, with parameter and artifact outputs.

Proves: inner task paths are ``<outer task>/<inner task>``; an inner pipeline's int output (typed) and
Dataset output reach outer tasks; chaining two instances of the same inner pipeline; the outer
pipeline's outputs come from an inner pipeline.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.component
def write(value: int, out: Output[Dataset]):
    with open(out.path, 'w') as f:
        f.write(str(value))
    out.metadata['value'] = value


@dsl.component
def read(ds: Input[Dataset]) -> int:
    with open(ds.path) as f:
        value = int(f.read())
    assert value == ds.metadata['value'], ds.metadata
    return value


@dsl.pipeline(name='inner')
def inner(x: int, y: int = 1) -> NamedTuple('Outputs', [('total', int), ('data', Dataset)]):
    added = add(a=x, b=y)
    written = write(value=added.output)
    outputs = NamedTuple('Outputs', [('total', int), ('data', Dataset)])
    return outputs(added.output, written.outputs['out'])


@dsl.pipeline(name='nested-pipeline')
def nested_pipeline(start: int = 1) -> NamedTuple('Outputs', [('final', int), ('read_back', int)]):
    first = inner(x=start, y=10)
    second = inner(x=first.outputs['total'])
    back = read(ds=second.outputs['data'])
    outputs = NamedTuple('Outputs', [('final', int), ('read_back', int)])
    return outputs(second.outputs['total'], back.output)


PIPELINE = nested_pipeline
