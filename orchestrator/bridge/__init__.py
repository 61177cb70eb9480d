"""Entered by a department's answer on `dept.results`: it completes the activity that waits
for it.

May import `workflow` (reply tokens, models), `ops` (metrics) and `client`; never
`activities`, `api`, `intake` or `cli`.
"""
