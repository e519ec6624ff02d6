"""Artifacts made in a ParallelFor, collected with dsl.Collected, then iterated by a second ParallelFor.

Proves: each iteration's Dataset gets its own URI (no overwrite); dsl.Collected of artifacts is a
List[Dataset] input (content and metadata of every item) and a nested pipeline's List[Dataset] output;
ParallelFor iterates an artifact list (IR ``artifactIterator``) both over a nested pipeline's
artifact-list input and over a task's artifact-list output, each iteration reading its own artifact.
"""

from typing import List

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def make(x: int, out: Output[Dataset]):
    with open(out.path, 'w') as f:
        f.write(f'item-{x}')
    out.metadata['x'] = x


@dsl.component
def read_all(datasets: Input[List[Dataset]]) -> str:
    texts = []
    for ds in datasets:
        with open(ds.path) as f:
            text = f.read()
        assert text == f"item-{int(ds.metadata['x'])}", (text, ds.metadata)
        texts.append(text)
    assert len({ds.uri for ds in datasets}) == len(datasets), [ds.uri for ds in datasets]
    return ','.join(texts)


@dsl.component
def read_one(ds: Input[Dataset]) -> str:
    with open(ds.path) as f:
        return f.read().upper()


@dsl.pipeline(name='make-many')
def make_many(n: list = [1, 2, 3]) -> List[Dataset]:
    """A pipeline whose output is the Collected artifact list of its loop."""
    with dsl.ParallelFor(n) as x:
        made = make(x=x)
    return dsl.Collected(made.outputs['out'])


@dsl.pipeline(name='per-dataset')
def per_dataset(datasets: Input[List[Dataset]]):
    """ParallelFor over an artifact-list pipeline input."""
    with dsl.ParallelFor(datasets) as ds:
        read_one(ds=ds)


@dsl.pipeline(name='loop-artifacts')
def loop_artifacts() -> str:
    # 1. Collected artifacts of a loop straight into a (nested pipeline's) ParallelFor over an artifact list
    with dsl.ParallelFor([4, 5]) as x:
        made = make(x=x)
    per_dataset(datasets=dsl.Collected(made.outputs['out']))
    # 2. a nested pipeline's Collected artifact-list output: iterated here, and read as a whole
    many = make_many()
    with dsl.ParallelFor(many.output) as ds:
        read_one(ds=ds)
    return read_all(datasets=many.output).output


PIPELINE = loop_artifacts
