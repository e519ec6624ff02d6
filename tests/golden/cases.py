"""The representative pipelines every target keeps golden files for (IR names in the shared corpus)."""

GOLDEN_CASES = {
    "simple": "hello_world.yaml",
    "conditions": "if_elif_else_complex.yaml",
    "oneof": "if_elif_else_with_oneof_parameters.yaml",
    "loop-static": "parallel_and_nested__pipeline_with_loops.yaml",
    "loop-parameter": "pipeline_with_parallelfor_pipeline_param.yaml",
    "loop-task-output-collected": "critical__collected_parameters.yaml",
    "loop-artifacts": "pipeline_with_parallelfor_list_artifacts_GH-12033.yaml",
    "loop-parallelism": "pipeline_with_parallelfor_parallelism.yaml",
    "nested-loops": "pipeline_with_nested_loops.yaml",
    "collected-artifacts": "collected_artifacts.yaml",
    "exit-handler": "pipeline_with_task_final_status.yaml",
    "ignore-upstream-failure": "pipeline_with_task_using_ignore_upstream_failure.yaml",
    "retry": "critical__pipeline_with_retry.yaml",
    "importer": "pipeline_with_importer.yaml",
    "nested-pipeline": "parallel_and_nested__pipeline_in_pipeline.yaml",
    "platform-secrets": "critical__pipeline_with_secret_as_env.yaml",
    "platform-volumes": "pipeline_with_volume.yaml",
}

GOLDEN_PARAMETERS = {
    # required pipeline inputs get this run's values (engines refuse a run without them)
    "loop-parameter": {"loop_parameter": ["a", "b"], "prefix": "item-"},
    "loop-parallelism": {"loop_parameter": ["a", "b", "c"]},
}
