"""Errors of the catalogue and of submitted forms."""


class CatalogueError(Exception):
    """A catalogue file is invalid; the message names the file and the field."""

    def __init__(self, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file = file
        self.field = field
        self.message = message


class UnknownOneThing(LookupError):
    """No one thing with that id is in the catalogue."""

    def __init__(self, one_thing: str) -> None:
        super().__init__(f"unknown one thing {one_thing!r}")
        self.one_thing = one_thing
