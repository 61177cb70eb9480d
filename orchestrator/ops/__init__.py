"""Entered by operators, through the API or the CLI: the rules both share (updates to a
running application, signed so the worker takes them), an application's story from its
history, dead letters, metrics.

May import `workflow` and `client`; never `api` or `cli`.
"""
