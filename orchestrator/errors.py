"""The errors of the orchestrator, one root; foreign errors are mapped where they enter.

    OneThingError
    ├── RequestRefused            a request the application or the catalogue cannot take
    │   ├── InvalidForm           the form does not validate (HTTP 422)
    │   ├── InvalidApplicant      the one thing takes no such applicant (HTTP 422)
    │   ├── RequestConflict       a request id reused for another request (HTTP 409)
    │   ├── UpdateRefused         the workflow refused an update in its state (HTTP 409)
    │   ├── AlreadyRated          a task is rated once (HTTP 409)
    │   ├── AlreadyVerified       a commitment is verified once (HTTP 409)
    │   └── NotAuthenticated      no valid assertion of who the applicant is (HTTP 401)
    ├── InvalidReplyToken         a department's reply token names no dispatch (dead-lettered)
    └── MissingUpstream           a task needs an output its upstream task did not give
                                  (`workflow.steps`: the task fails, the workflow never does)

The workflow's own refusal (`workflow.workflow.Conflict`) is a Temporal `ApplicationError`,
as an update validator must raise; `ops.updates` maps it to `UpdateRefused`.
"""

from __future__ import annotations

from typing import Any


class OneThingError(Exception):
    """Root of every error the orchestrator raises on purpose."""


class RequestRefused(OneThingError):
    """A request that cannot be taken as it is; the message says why."""


class InvalidForm(RequestRefused, ValueError):
    """The form (or the materials: `where`) does not validate; `errors` are pydantic's,
    located under it."""

    def __init__(self, errors: list[Any], where: str = "form") -> None:
        super().__init__(f"{len(errors)} invalid {where} fields")
        self.errors = errors
        self.where = where


class InvalidApplicant(RequestRefused, ValueError):
    """The one thing does not take applications from such an applicant; the message says why."""


class RequestConflict(RequestRefused, ValueError):
    """The request id was used before for a different request."""


class UpdateRefused(RequestRefused):
    """The application cannot take it in its state; the message says why."""


class AlreadyRated(RequestRefused):
    """The task has been rated already."""


class AlreadyVerified(RequestRefused):
    """A commitment has been verified already."""


class NotAuthenticated(RequestRefused):
    """The applicant's assertion is missing, invalid, expired, or names someone else."""


class InvalidReplyToken(OneThingError, ValueError):
    """A reply token that names no dispatch."""
