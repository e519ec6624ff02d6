"""A task that fails on its first attempt and succeeds on the second, with set_retry.

Proves: ``set_retry(num_retries=2, backoff_duration='0s')`` re-runs a failed task; the second attempt's
output is the task's output and the run SUCCEEDS; the task ran exactly twice (it counts its attempts in
a file under ``state_dir``, a directory the test passes as a parameter).
"""

from kfp import dsl


@dsl.component
def flaky(state_dir: str) -> int:
    import os
    marker = os.path.join(state_dir, 'attempts')
    attempts = int(open(marker).read()) + 1 if os.path.exists(marker) else 1
    with open(marker, 'w') as f:
        f.write(str(attempts))
    if attempts < 2:
        raise RuntimeError(f'attempt {attempts} fails on purpose')
    return attempts


@dsl.component
def after(attempts: int) -> str:
    return f'succeeded after {attempts} attempts'


@dsl.pipeline(name='retry')
def retry(state_dir: str) -> str:
    task = flaky(state_dir=state_dir).set_retry(num_retries=2, backoff_duration='0s').set_caching_options(False)
    return after(attempts=task.output).output


PIPELINE = retry
