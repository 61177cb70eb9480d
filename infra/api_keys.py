"""One API key of the intake API: the secret its holder sends and what it may do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ApiKey(BaseModel):
    """One API key: the secret its holder sends (X-API-Key) and what it may do; a department's
    key is bound to its department's code, and acts for that department only."""

    model_config = ConfigDict(hide_input_in_errors=True)  # an error never shows the key

    key: str = Field(min_length=16, repr=False)
    role: Literal["portal", "operator", "department"]
    department: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2,16}$",
        description="The department code a `department` key acts for; no other role has one.",
    )

    @model_validator(mode="after")
    def _bound_to_a_department(self) -> ApiKey:
        if self.role == "department" and self.department is None:
            raise ValueError('a department key names its department ("department": code)')
        if self.role != "department" and self.department is not None:
            raise ValueError(f"a {self.role} key names no department")
        return self
