"""Errors of the catalogue, one root.

CatalogueProblem
├── CatalogueError        a catalogue file is invalid (names the file and the field)
├── UnknownOneThing       no one thing with that id (a LookupError)
└── UnknownDepartment     no department with that code (a LookupError)
"""


class CatalogueProblem(Exception):
    """Root of every error the catalogue raises."""


class CatalogueError(CatalogueProblem):
    """A catalogue file is invalid; the message names the file and the field."""

    def __init__(self, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file = file
        self.field = field
        self.message = message


class UnknownOneThing(CatalogueProblem, LookupError):
    """No one thing with that id is in the catalogue."""

    def __init__(self, one_thing: str, message: str | None = None) -> None:
        super().__init__(message or f"unknown one thing {one_thing!r}")
        self.one_thing = one_thing


class UnknownVersion(UnknownOneThing):
    """The one thing has no live version of that name."""

    def __init__(self, one_thing: str, version: str) -> None:
        super().__init__(one_thing, f"no live version {version!r} of {one_thing!r}")
        self.version = version


class UnknownDepartment(CatalogueProblem, LookupError):
    """No matter of the catalogue is handled by that department."""

    def __init__(self, department: str) -> None:
        super().__init__(f"unknown department {department!r}")
        self.department = department
