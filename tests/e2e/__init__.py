"""End-to-end tests: KFP SDK pipelines (compiled IR fixtures) run locally through the CLI."""
