"""An exit handler whose body fails; the cleanup task reads the failure from PipelineTaskFinalStatus.

Proves: the run FAILS (exit code 1) when a task in the ExitHandler body fails; the exit task still runs
and receives the final status (state FAILED, the exit-handler task's name, an error message), which it
returns as its output; a task after the failing one inside the body is NOT_RUN.
"""

from kfp import dsl
from kfp.dsl import PipelineTaskFinalStatus


@dsl.component
def ok(text: str) -> str:
    return text


@dsl.component
def fail(message: str):
    raise RuntimeError(message)


@dsl.component
def cleanup(status: PipelineTaskFinalStatus) -> dict:
    return {'state': status.state, 'task': status.pipeline_task_name,
            'job': status.pipeline_job_resource_name, 'error_code': status.error_code,
            'error_message': status.error_message}


@dsl.pipeline(name='exit-handler')
def exit_handler(message: str = 'body fails on purpose'):
    final = cleanup()
    with dsl.ExitHandler(final, name='body'):
        first = ok(text='before')
        failing = fail(message=message).after(first)
        ok(text='after').after(failing)


PIPELINE = exit_handler
