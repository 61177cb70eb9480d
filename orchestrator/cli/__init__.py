"""Entered by a person at a terminal: `onething …` (a Typer root with one group per concern)
and the demo, which only prints.

Never imports `api`: services are started through `orchestrator.bootstrap`.
"""
