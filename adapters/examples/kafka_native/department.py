"""A Kafka-native department: it consumes its task topic and answers on dept.results itself.

Written only against the exported contracts (`onething schemas export DIR`): it imports
nothing of OneThing, validates every command and every answer against the JSON Schemas, and
keeps what it did in SQLite so a repeated command gets the same answer and creates nothing.

    python department.py --department hpf --schemas DIR --db hpf.db --bootstrap HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import signal
import socket
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

HEADERS = [("content-type", b"application/cloudevents+json")]


class Records:
    """What this department did, by idempotency key: the same key, the same answer."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("create table if not exists done (key text primary key, answer text)")

    def answer_for(self, key: str, make: Any) -> dict[str, Any]:
        row = self._db.execute("select answer from done where key = ?", (key,)).fetchone()
        if row:
            return dict(json.loads(row[0]))
        answer = make()
        self._db.execute("insert into done values (?, ?)", (key, json.dumps(answer)))
        self._db.commit()
        return dict(answer)

    def count(self) -> int:
        return int(self._db.execute("select count(*) from done").fetchone()[0])


def prove(secrets: dict[str, bytes], data: dict[str, Any]) -> str:
    """The answer's proof, as the TaskResult schema's `proof` says: HMAC-SHA256 with our secret
    for the reply token's key id (its second dot-separated part) over the sorted compact JSON
    of reply_token, department, outcome, outputs ({} if none), reason (null if none) and
    supplement_fields ([] if none)."""
    signed = {
        "reply_token": data["reply_token"],
        "department": data["department"],
        "outcome": data["outcome"],
        "outputs": data.get("outputs") or {},
        "reason": data.get("reason"),
        "supplement_fields": data.get("supplement_fields") or [],
    }
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    secret = secrets[data["reply_token"].split(".")[1]]
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def decide(command: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    """This department's business: do the matter, issuing every output its contract lists,
    or undo it again."""
    if command["action"] in ("compensate", "void"):
        return {"outcome": "compensated", "outputs": {}}
    matter = next(
        m
        for m in contract["matters"]
        if (m["one_thing"], m["matter"]) == (command["one_thing"], command["matter"])
    )
    digest = hashlib.sha256(command["idempotency_key"].encode()).hexdigest()[:10].upper()
    return {
        "outcome": "approved",
        "outputs": {name: f"KN-{digest}" for name in matter["returns_on_approval"]},
        "department_reference": f"{contract['department'].upper()}-KN-{digest}",
    }


async def serve(args: argparse.Namespace) -> None:
    schemas = Path(args.schemas)
    command_schema = json.loads((schemas / "task-command.schema.json").read_text())
    result_schema = json.loads((schemas / "task-result.schema.json").read_text())
    contract_file = schemas / "departments" / f"{args.department}.contract.json"
    contract = json.loads(contract_file.read_text())
    records = Records(Path(args.db))
    secrets = {
        key_id: base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        for key_id, secret in (pair.split("=", 1) for pair in args.secret)
    }
    consumer = AIOKafkaConsumer(
        contract["tasks_topic"],
        bootstrap_servers=args.bootstrap,
        group_id=contract["consumer_group"],
        group_instance_id=f"dept-{args.department}.{socket.gethostname()}",  # back at once
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await consumer.start()
    await producer.start()
    await asyncio.to_thread(Path(args.db + ".ready").touch)  # tells a supervisor it serves
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for record in (r for records_ in batch.values() for r in records_):
                event = json.loads(record.value)
                jsonschema.validate(event, command_schema)
                command = event["data"]
                answer = records.answer_for(
                    command["idempotency_key"], lambda c=command: decide(c, contract)
                )
                data = {
                    "application_id": command["application_id"],
                    "task_id": command["task_id"],
                    "attempt": command["attempt"],
                    "reply_token": command["reply_token"],
                    "department": args.department,
                    **answer,
                }
                data["proof"] = prove(secrets, data)
                result = {
                    "specversion": "1.0",
                    "id": uuid.uuid4().hex,
                    "source": f"urn:dept:{args.department}",
                    "type": "org.onething.task.result.v1",
                    "subject": command["application_id"],
                    "time": datetime.now(UTC).isoformat(),
                    "datacontenttype": "application/json",
                    "data": data,
                }
                jsonschema.validate(result, result_schema)
                await producer.send_and_wait(
                    "dept.results", json.dumps(result).encode(), key=record.key, headers=HEADERS
                )
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--department", required=True)
    parser.add_argument("--schemas", required=True, help="output of `onething schemas export`")
    parser.add_argument("--db", required=True, help="SQLite file of what was done")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        help="KEY_ID=SECRET, the department's own secret per key id "
        "(`onething department-secret CODE`); repeat while keys rotate",
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
