"""Entered by portals, operators and departments over HTTP: the intake API.

`app` is the factory and its routes, `catalogue` what is shown of the catalogue, `auth` the API
keys and roles, `problems` the RFC 9457 errors, `views` what is rendered from the progress.
Never imports `cli`.
"""
