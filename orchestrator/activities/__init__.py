"""Entered by the worker when the workflow asks for a side effect: publish a command or a
status event, keep e-licences, start a proactive one thing.

May import `workflow` (models and names), `intake`, `stores` and `infra`; never `api`,
`bridge` or `cli`.
"""
