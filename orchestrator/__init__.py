"""The orchestrator, one room per party that enters it.

* `workflow/`: Temporal, replaying an application; imports `events`, `one_things` and
  temporalio only.
* `activities/`: the worker, for the workflow's side effects; `workflow/`, `intake/`,
  `stores/`, `infra`.
* `intake/`: a portal's request (HTTP or Kafka); `workflow/`, `stores/`, `client`.
* `bridge/`: a department's answer on `dept.results`; `workflow/`, `ops/`, `client`.
* `api/`: portals, operators and departments over HTTP; everything but `cli/`.
* `stores/`: the e-licence library and the ratings; `infra`, `one_things`.
* `ops/`: the rules the API and the CLI share, history, dead letters, metrics; `workflow/`,
  `client`.
* `cli/`: a person at a terminal; everything but `api/` (whose process starts in
  `bootstrap`).

`bootstrap` composes the processes; `worker` runs the workflow and its activities; `client`
connects to Temporal; `errors` is the root of this package's errors. This package imports
nothing itself, so the workflow sandbox does not rebuild models for every run.
"""
