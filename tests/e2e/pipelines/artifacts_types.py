"""Artifacts of every type, with metadata, written by one task and checked by another.

Proves: Dataset, Model, Artifact, Markdown and HTML files arrive with their content and metadata;
Metrics.log_metric and ClassificationMetrics (confusion matrix, ROC curve) are recorded as metadata; the
consumer sees the right artifact classes (schema titles); the --json summary shows each artifact's URI
and metadata.
"""

from kfp import dsl
from kfp.dsl import (HTML, Artifact, ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model,
                     Output)


@dsl.component
def produce(dataset: Output[Dataset], model: Output[Model], blob: Output[Artifact], metrics: Output[Metrics],
            cls: Output[ClassificationMetrics], report: Output[Markdown], page: Output[HTML]):
    with open(dataset.path, 'w') as f:
        f.write('x,y\n1,2\n3,4\n')
    dataset.metadata['rows'] = 2
    dataset.metadata['columns'] = ['x', 'y']
    with open(model.path, 'w') as f:
        f.write('weights: [0.5, 0.25]')
    model.metadata['framework'] = 'none'
    model.metadata['version'] = 3
    with open(blob.path, 'wb') as f:
        f.write(bytes(range(256)))
    blob.metadata['kind'] = 'bytes'
    metrics.log_metric('accuracy', 0.9)
    metrics.log_metric('loss', 0.125)
    cls.log_confusion_matrix(['cat', 'dog'], [[8, 2], [1, 9]])
    cls.log_roc_curve(fpr=[0.0, 0.5, 1.0], tpr=[0.0, 0.8, 1.0], threshold=[1.0, 0.5, 0.0])
    with open(report.path, 'w') as f:
        f.write('# Report\n\n*fine*\n')
    report.metadata['title'] = 'Report'
    with open(page.path, 'w') as f:
        f.write('<html><body><h1>ok</h1></body></html>')


@dsl.component
def consume(dataset: Input[Dataset], model: Input[Model], blob: Input[Artifact], metrics: Input[Metrics],
            cls: Input[ClassificationMetrics], report: Input[Markdown], page: Input[HTML]) -> str:
    import json
    with open(dataset.path) as f:
        assert f.read() == 'x,y\n1,2\n3,4\n'
    assert dataset.metadata['rows'] == 2 and dataset.metadata['columns'] == ['x', 'y'], dataset.metadata
    with open(model.path) as f:
        assert f.read() == 'weights: [0.5, 0.25]'
    assert model.metadata['framework'] == 'none' and model.metadata['version'] == 3, model.metadata
    with open(blob.path, 'rb') as f:
        assert f.read() == bytes(range(256))
    assert blob.metadata == {'kind': 'bytes'}, blob.metadata
    assert metrics.metadata == {'accuracy': 0.9, 'loss': 0.125}, metrics.metadata
    matrix = cls.metadata['confusionMatrix']
    assert [c['displayName'] for c in matrix['annotationSpecs']] == ['cat', 'dog'], matrix
    assert [r['row'] for r in matrix['rows']] == [[8, 2], [1, 9]], matrix
    assert len(cls.metadata['confidenceMetrics']) == 3, cls.metadata
    with open(report.path) as f:
        assert f.read() == '# Report\n\n*fine*\n'
    assert report.metadata['title'] == 'Report'
    with open(page.path) as f:
        assert '<h1>ok</h1>' in f.read()
    titles = {name: a.schema_title for name, a in
              dict(dataset=dataset, model=model, blob=blob, metrics=metrics, cls=cls, report=report,
                   page=page).items()}
    assert titles == {'dataset': 'system.Dataset', 'model': 'system.Model', 'blob': 'system.Artifact',
                      'metrics': 'system.Metrics', 'cls': 'system.ClassificationMetrics',
                      'report': 'system.Markdown', 'page': 'system.HTML'}, titles
    return json.dumps(titles, sort_keys=True)


@dsl.pipeline(name='artifacts-types')
def artifacts_types() -> str:
    p = produce()
    return consume(dataset=p.outputs['dataset'], model=p.outputs['model'], blob=p.outputs['blob'],
                   metrics=p.outputs['metrics'], cls=p.outputs['cls'], report=p.outputs['report'],
                   page=p.outputs['page']).output


PIPELINE = artifacts_types
