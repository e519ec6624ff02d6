"""dsl.OneOf over artifact outputs of If/Else branches.

Proves: the artifact (content and metadata) of the branch that ran reaches the consumer and the pipeline
output; the branch that did not run is SKIPPED.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def write(text: str, out: Output[Dataset]):
    with open(out.path, 'w') as f:
        f.write(text)
    out.metadata['branch'] = text


@dsl.component
def read(ds: Input[Dataset]) -> str:
    with open(ds.path) as f:
        content = f.read()
    assert ds.metadata.get('branch') == content, (ds.metadata, content)
    return content


@dsl.pipeline(name='oneof-artifacts')
def oneof_artifacts(use_first: bool = True) -> Dataset:
    with dsl.If(use_first == True):  # noqa: E712
        first = write(text='first')
    with dsl.Else():
        second = write(text='second')
    chosen = dsl.OneOf(first.outputs['out'], second.outputs['out'])
    read(ds=chosen)
    return chosen


PIPELINE = oneof_artifacts
