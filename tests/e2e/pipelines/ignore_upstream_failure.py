"""A task marked ignore_upstream_failure() after a failing task.

Proves: the marked task runs (SUCCEEDED) although its upstream failed, and gets its input's default when
the upstream produced nothing; an ordinary downstream task is NOT_RUN; the run as a whole FAILS.
"""

from kfp import dsl


@dsl.component
def fail_with_output() -> str:
    raise RuntimeError('upstream fails on purpose')


@dsl.component
def report(text: str = 'upstream produced nothing') -> str:
    return f'report: {text}'


@dsl.pipeline(name='ignore-upstream-failure')
def ignore_upstream_failure():
    failing = fail_with_output()
    report(text=failing.output).ignore_upstream_failure()
    report(text=failing.output)


PIPELINE = ignore_upstream_failure
