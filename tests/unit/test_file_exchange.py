from pathlib import Path

from adapters.file_exchange import Exchange, FileExchangeDepartment, file_name
from adapters.simulation.batch import BatchDepartment
from adapters.simulation.engine import SimulatedDepartment
from adapters.simulation.records import Records
from adapters.simulation.spec import load_specs
from events import Outcome, TaskResult
from infra import database
from one_things import load_catalogue
from tests.factories import task_command

CATALOGUE = load_catalogue()
COMMAND = task_command(
    application_id="ot-files",
    task_id="housing_check",
    one_thing="school_enrolment",
    matter="housing_check",
    department="mnr",
    reply_token="token-1",
)


def exchange(tmp_path: Path) -> Exchange:
    url = database.sqlite_url(tmp_path / "ledger.db")
    database.migrate(url)
    return Exchange(tmp_path / "mnr", database.engine(url))


async def test_each_command_attempt_is_written_once_even_after_a_restart(tmp_path: Path) -> None:
    first = FileExchangeDepartment("mnr", exchange(tmp_path))
    assert await first.handle(COMMAND) is None
    (tmp_path / "mnr" / "drop" / file_name(COMMAND)).unlink()  # the department took it
    restarted = FileExchangeDepartment("mnr", exchange(tmp_path))
    await restarted.handle(COMMAND)  # redelivered after the restart
    assert list((tmp_path / "mnr" / "drop").glob("*.json")) == []
    await restarted.handle(COMMAND.model_copy(update={"attempt": 2}))
    assert [p.name for p in (tmp_path / "mnr" / "drop").glob("*.json")] == [
        "ot-files__housing_check__handle__2.json"
    ]


async def test_a_batch_department_answers_each_file_and_records_the_work_once(
    tmp_path: Path,
) -> None:
    simulator = SimulatedDepartment(load_specs(CATALOGUE)["mnr"], CATALOGUE, latency=0)
    records = Records(tmp_path / "mnr.sqlite")
    batch = BatchDepartment(simulator, records, tmp_path / "mnr")
    adapter = FileExchangeDepartment("mnr", exchange(tmp_path))
    await adapter.handle(COMMAND)
    await adapter.handle(COMMAND.model_copy(update={"attempt": 2, "reply_token": "token-2"}))
    (tmp_path / "mnr" / "drop" / "garbage.json").write_text("{not json")
    assert await batch.process() == 3
    answers = sorted((tmp_path / "mnr" / "answers").glob("*.json"))
    results = [TaskResult.model_validate_json(p.read_bytes()) for p in answers]
    assert [(r.attempt, r.reply_token) for r in results] == [(1, "token-1"), (2, "token-2")]
    assert {r.outcome for r in results} == {Outcome.APPROVED}
    assert results[0].outputs == results[1].outputs
    assert len(records.all()) == 1
    assert (tmp_path / "mnr" / "drop" / "rejected" / "garbage.json").exists()
