"""Entered by a portal's request to start an application: over HTTP (through `api`) or as an
`ApplicationRequested` on `onething.applications`.

May import `workflow` (to start it), `stores` (prefill) and `client`; never `api`, `bridge` or
`cli`.
"""
