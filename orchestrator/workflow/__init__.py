"""Entered by Temporal alone, to run and replay an application's saga.

Deterministic: imports no I/O library and no other room of the orchestrator; only `events`,
`one_things`, pydantic and temporalio. `steps` holds the pure decisions, `models` the inputs,
updates and progress, `names` what activities, updates and search attributes are called,
`sandbox` the sandbox the worker runs them in.
"""
