"""Entered by the API and the worker to keep what outlives a workflow: the e-licence library
and the ratings, each behind a small class.

May import `infra` and `one_things`; nothing else of the orchestrator.
"""
