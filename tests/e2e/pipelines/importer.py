"""dsl.importer of a file whose location is a pipeline parameter (given at run time).

Proves: the importer's URI comes from the run's --param (not baked in at compile time); the imported
Dataset's content and the importer's metadata (also a metadata value taken from a parameter) reach the
consumer; the importer runs no container.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input


@dsl.component
def read(ds: Input[Dataset]) -> str:
    import json
    with open(ds.path) as f:
        content = f.read()
    return json.dumps({'content': content, 'metadata': ds.metadata, 'uri': ds.uri}, sort_keys=True)


@dsl.pipeline(name='importer')
def importer(uri: str, label: str = 'fixture') -> str:
    imported = dsl.importer(artifact_uri=uri, artifact_class=Dataset, reimport=False,
                            metadata={'source': 'e2e', 'label': label})
    return read(ds=imported.output).output


PIPELINE = importer
