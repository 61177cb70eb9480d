"""Load the catalogue from YAML and validate it, naming the file and field at fault."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from one_things.departments import DEPARTMENTS
from one_things.errors import CatalogueError, UnknownOneThing, UnknownVersion
from one_things.forms import Applicant, form_model
from one_things.graph import critical_path, find_cycle
from one_things.materials import COMMITMENT, PROMISE, SAMPLE
from one_things.schema import APPLICANT_FIELDS, FieldType, Matter, OneThing

CATALOGUE_DIR = Path(__file__).parent / "catalogue"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions part by part, numbers as numbers: 2026.11.10 after 2026.11.9."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.split("."))


class Catalogue:
    """Every live version of every one thing, validated; a new application gets the newest."""

    def __init__(self, one_things: Iterable[OneThing]) -> None:
        self._versions: dict[str, dict[str, OneThing]] = {}
        for one_thing in one_things:
            self._versions.setdefault(one_thing.id, {})[one_thing.version] = one_thing
        self._newest = {
            one_thing: versions[self.versions(one_thing)[-1]]
            for one_thing, versions in sorted(self._versions.items())
        }

    def __iter__(self) -> Iterator[OneThing]:
        """The newest version of each one thing."""
        return iter(self._newest.values())

    def get(self, one_thing: str, version: str | None = None) -> OneThing:
        versions = self._versions.get(one_thing)
        if versions is None:
            raise UnknownOneThing(one_thing)
        if version is None:
            return self._newest[one_thing]
        if version not in versions:
            raise UnknownVersion(one_thing, version)
        return versions[version]

    def versions(self, one_thing: str) -> list[str]:
        """Its live versions, oldest first."""
        return sorted(self._versions.get(one_thing, {}), key=version_key)

    def matters(self) -> dict[tuple[str, str], Matter]:
        """(one thing, matter) -> the matter, of every live version (the newest's, if several
        versions have it: a matter keeps its department and outputs across them)."""
        found: dict[tuple[str, str], Matter] = {}
        for one_thing, versions in sorted(self._versions.items()):
            for version in self.versions(one_thing):
                found.update({(one_thing, m.id): m for m in versions[version].matters})
        return found

    def departments(self) -> list[str]:
        """Every department some matter of a live version names."""
        return sorted({m.department for m in self.matters().values()})


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read and validate every `*.yaml` in `directory` (default: the shipped catalogue): a one
    thing's newest version in `<id>.yaml`, older ones still live in `<id>@<version>.yaml`."""
    directory = directory or CATALOGUE_DIR
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogueError(str(directory), "<files>", "no *.yaml one-thing files found")
    loaded = {f: load_one_thing(f) for f in files}
    catalogue = Catalogue(loaded.values())
    check_newest(catalogue, {ot.id: ot.version for f, ot in loaded.items() if "@" not in f.stem})
    check_prefills(catalogue)
    check_proactive(catalogue)
    return catalogue


def check_newest(catalogue: Catalogue, plain: dict[str, str]) -> None:
    """`<id>.yaml` holds the newest version, and it names its lead department and limit; a
    matter in several live versions has the same department and outputs in each (a running
    application's department answers it as the newest version says)."""
    matters = catalogue.matters()
    for one_thing in catalogue:
        name = f"{one_thing.id}.yaml"
        for version in catalogue.versions(one_thing.id):
            for matter in catalogue.get(one_thing.id, version).matters:
                newest = matters[(one_thing.id, matter.id)]
                if (matter.department, matter.outputs) != (newest.department, newest.outputs):
                    raise CatalogueError(
                        f"{one_thing.id}@{version}.yaml",
                        matter.id,
                        "another department or other outputs than in a newer version: "
                        "give the changed matter an id of its own",
                    )
        if plain.get(one_thing.id) != one_thing.version:
            raise CatalogueError(name, "version", "must be the newest of its live versions")
        for field in ("lead_department", "time_limit"):
            if getattr(one_thing, field) is None:
                raise CatalogueError(name, field, "the newest version must name it")


def load_one_thing(path: Path) -> OneThing:
    """Read one catalogue file and check it, raising `CatalogueError`."""
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(name, "<yaml>", f"not valid YAML: {exc}") from exc
    try:
        one_thing = OneThing.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        raise CatalogueError(name, field, err["msg"]) from exc
    one_thing_id, _, version = path.stem.partition("@")
    if one_thing.id != one_thing_id:
        raise CatalogueError(name, "id", f"must equal the file name {one_thing_id!r}")
    if version and one_thing.version != version:
        raise CatalogueError(name, "version", f"must equal the file name's {version!r}")
    check_references(name, one_thing)
    return one_thing


def check_references(name: str, ot: OneThing) -> None:
    """Every name a matter uses must exist, and the dependencies must form a DAG."""
    ids = [m.id for m in ot.matters]
    by_id = {m.id: m for m in ot.matters}
    for i, matter in enumerate(ot.matters):
        where = f"matters[{i}]"
        if ids.count(matter.id) > 1:
            raise CatalogueError(name, f"{where}.id", f"duplicate matter id {matter.id!r}")
        if matter.department not in DEPARTMENTS:
            raise CatalogueError(
                name, f"{where}.department", f"unknown department {matter.department!r}"
            )
        for field in matter.inputs:
            known = field in ot.form or field in {f"applicant.{a}" for a in APPLICANT_FIELDS}
            if not known:
                raise CatalogueError(name, f"{where}.inputs", f"unknown form field {field!r}")
        for field in ("depends_on", "after"):
            for dep in getattr(matter, field):
                if dep not in by_id or dep == matter.id:
                    raise CatalogueError(name, f"{where}.{field}", f"unknown matter {dep!r}")
        for ref in matter.upstream:
            source, _, output = ref.partition(".")
            if source not in matter.depends_on:
                raise CatalogueError(
                    name, f"{where}.upstream", f"{ref!r} needs {source!r} in depends_on"
                )
            if output not in by_id[source].outputs:
                raise CatalogueError(
                    name, f"{where}.upstream", f"matter {source!r} has no output {output!r}"
                )
        if matter.when is not None:
            when = ot.form.get(matter.when)
            if when is None or when.required:
                raise CatalogueError(
                    name, f"{where}.when", f"{matter.when!r} is not an optional form field"
                )
        for output in matter.licences:
            if output not in matter.outputs:
                raise CatalogueError(name, f"{where}.licences", f"{output!r} is not an output")
        check_licence_holder(name, where, ot, matter)
    cycle = find_cycle({m.id: m.waits_for() for m in ot.matters})
    if cycle:
        raise CatalogueError(name, "matters.depends_on", "cycle " + " -> ".join(cycle))
    check_time_limits(name, ot)
    check_materials(name, ot)
    check_example(name, ot)


def check_licence_holder(name: str, where: str, ot: OneThing, matter: Matter) -> None:
    """Whom its licences belong to: the applicant, an ID number or credit code in the form,
    or an output of the matter or of one it depends on."""
    holder = matter.licence_holder
    source, _, output = holder.partition(".")
    if source == matter.id or source in matter.depends_on:
        if matter.once_per_holder:
            raise CatalogueError(
                name,
                f"{where}.licence_holder",
                "once_per_holder needs a holder known at submission",
            )
        if output not in ot.matter(source).outputs:
            raise CatalogueError(
                name, f"{where}.licence_holder", f"matter {source!r} has no output {output!r}"
            )
        return
    field = ot.form.get(holder)
    if holder != "applicant.id_number" and (
        field is None or field.type not in (FieldType.RESIDENT_ID, FieldType.CREDIT_CODE)
    ):
        raise CatalogueError(
            name,
            f"{where}.licence_holder",
            f"{holder!r} is not an ID number or credit code form field, nor an output",
        )


def check_time_limits(name: str, ot: OneThing) -> None:
    """The lead department handles a matter; the one thing's limit covers its longest chain."""
    if ot.lead_department is not None and ot.lead_department not in {
        m.department for m in ot.matters
    }:
        raise CatalogueError(
            name, "lead_department", f"{ot.lead_department!r} handles none of its matters"
        )
    longest = critical_path(
        {m.id: m.time_limit.days() for m in ot.matters}, {m.id: m.waits_for() for m in ot.matters}
    )
    if ot.time_limit is not None and ot.time_limit.days() < longest:
        raise CatalogueError(
            name,
            "time_limit",
            f"{ot.time_limit} is shorter than its longest chain of matters ({longest:g} days)",
        )


def check_materials(name: str, ot: OneThing) -> None:
    """A material goes to matters of the one thing, in a situation its form can tell."""
    ids = [m.id for m in ot.materials]
    for i, material in enumerate(ot.materials):
        where = f"materials[{i}]"
        if ids.count(material.id) > 1:
            raise CatalogueError(name, f"{where}.id", f"duplicate material id {material.id!r}")
        for matter in material.matters:
            if matter not in {m.id for m in ot.matters}:
                raise CatalogueError(name, f"{where}.matters", f"unknown matter {matter!r}")
        if material.when is not None:
            field, equals, value = material.when.partition("=")
            spec = ot.form.get(field)
            if spec is None:
                raise CatalogueError(name, f"{where}.when", f"unknown form field {field!r}")
            if equals and spec.choices is not None and value not in spec.choices:
                raise CatalogueError(name, f"{where}.when", f"{value!r} is not a choice of {field}")


def check_example(name: str, ot: OneThing) -> None:
    """The example application must be one the API accepts."""
    try:
        applicant = Applicant.model_validate(ot.example.applicant)
        form_model(ot).model_validate(ot.example.form)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise CatalogueError(name, f"example.{field}", err["msg"]) from exc
    for material, given in ot.example.materials.items():
        if material not in {m.id for m in ot.materials}:
            raise CatalogueError(name, "example.materials", f"unknown material {material!r}")
        if given not in (SAMPLE, PROMISE, COMMITMENT):
            raise CatalogueError(
                name, f"example.materials.{material}", f"{given!r}: sample, promise or commitment"
            )
    if applicant.kind not in ot.applicants:
        raise CatalogueError(name, "example.applicant", f"the one thing takes no {applicant.kind}")


def check_proactive(catalogue: Catalogue) -> None:
    """What a one thing starts exists, and each of its fields comes from something real."""
    known = {ot.id: ot for ot in catalogue}
    for ot in catalogue:
        outputs = {f"{m.id}.{o}" for m in ot.matters for o in m.outputs}
        for i, start in enumerate(ot.starts):
            where = f"starts[{i}]"
            target = known.get(start.one_thing)
            if target is None:
                raise CatalogueError(
                    f"{ot.id}.yaml", where, f"unknown one thing {start.one_thing!r}"
                )
            for field, source in start.form.items():
                kind, _, name = source.partition(".")
                valid = (
                    (kind == "form" and name in ot.form)
                    or (kind == "applicant" and name in APPLICANT_FIELDS)
                    or source in outputs
                )
                if field not in target.form or not valid:
                    raise CatalogueError(
                        f"{ot.id}.yaml", f"{where}.form.{field}", f"cannot fill it from {source!r}"
                    )


def check_prefills(catalogue: Catalogue) -> None:
    """A prefill names an e-licence type some matter issues and a value that licence carries."""
    carried: dict[str, set[str]] = {}
    for ot in catalogue:
        for matter in ot.matters:
            for kind in matter.licences.values():
                carried.setdefault(kind, set()).update(matter.inputs, matter.outputs)
    for ot in catalogue:
        for i, material in enumerate(ot.materials):
            if material.proven_by is not None and material.proven_by not in carried:
                raise CatalogueError(
                    f"{ot.id}.yaml",
                    f"materials[{i}].proven_by",
                    f"no matter issues a {material.proven_by!r} e-licence",
                )
        for field, spec in ot.form.items():
            if spec.prefill is None:
                continue
            kind, _, key = spec.prefill.partition(".")
            if key not in carried.get(kind, set()):
                raise CatalogueError(
                    f"{ot.id}.yaml",
                    f"form.{field}.prefill",
                    f"no matter issues a {kind!r} e-licence carrying {key!r}",
                )
