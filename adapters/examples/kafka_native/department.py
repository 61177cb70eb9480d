"""A Kafka-native department: it consumes its task topic and answers on dept.results itself.

Written only against the exported contracts (`onething schemas export DIR`): it imports
nothing of OneThing, validates every command and every answer against the JSON Schemas, acts
only on a command OneThing's signature proves (with OneThing's public command keys, from
`onething command-keys DIR`), and keeps what it did in SQLite so a repeated command gets the
same answer and creates nothing; a command it refuses is kept with the reason, never done.

    python department.py --department hpf --schemas DIR --db hpf.db --bootstrap HOST:PORT \
        --signing-key KEY_ID=PEM_FILE --command-key KEY_ID=PEM_FILE
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

HEADERS = [("content-type", b"application/cloudevents+json")]


class Records:
    """What this department did, by idempotency key: the same key, the same answer."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("create table if not exists done (key text primary key, answer text)")
        self._db.execute("create table if not exists refused (key text, reason text)")

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

    def refuse(self, key: str, reason: str) -> None:
        self._db.execute("insert into refused values (?, ?)", (key, reason))
        self._db.commit()


def refusal(command: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why `command` is not proven to come from OneThing (None if it is): its `signature` is
    Ed25519, base64url, by OneThing's command key `signature_key_id` over the sorted compact
    UTF-8 JSON of every other field of the command, as it arrived."""
    signature, key_id = command.get("signature"), command.get("signature_key_id")
    if not isinstance(signature, str) or not isinstance(key_id, str):
        return "not signed"
    if key_id not in keys:
        return f"signed with an unknown key {key_id[:40]!r}"
    signed = {k: v for k, v in command.items() if k != "signature"}
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        keys[key_id].verify(raw, message.encode())
    except (InvalidSignature, ValueError):
        return "signature does not match"
    return None


def public_keys(pairs: list[str]) -> dict[str, Ed25519PublicKey]:
    """OneThing's command keys by id, from KEY_ID=PEM_FILE."""
    keys = {}
    for key_id, file in (pair.split("=", 1) for pair in pairs):
        key = load_pem_public_key(Path(file).read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise SystemExit(f"{file} is not an Ed25519 public key")
        keys[key_id] = key
    return keys


def prove(key: Ed25519PrivateKey, data: dict[str, Any]) -> str:
    """The answer's proof, as the TaskResult schema's `proof` says: Ed25519 with our own
    private key (OneThing holds its public key under the answer's `proof_key_id`), base64url
    without padding, over the sorted compact UTF-8 JSON of reply_token, department, outcome,
    outputs ({} if none), reason (null if none), supplement_fields ([] if none) and
    department_reference (null if none)."""
    signed = {
        "reply_token": data["reply_token"],
        "department": data["department"],
        "outcome": data["outcome"],
        "outputs": data.get("outputs") or {},
        "reason": data.get("reason"),
        "supplement_fields": data.get("supplement_fields") or [],
        "department_reference": data.get("department_reference"),
    }
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(key.sign(message.encode())).decode().rstrip("=")


def signing_key(pair: str) -> tuple[str, Ed25519PrivateKey]:
    """Our key id and private key, from KEY_ID=PEM_FILE."""
    key_id, file = pair.split("=", 1)
    key = load_pem_private_key(Path(file).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{file} is not an Ed25519 private key")
    return key_id, key


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
    key_id, key = signing_key(args.signing_key)
    onething = public_keys(args.command_key)
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
                refused = refusal(command, onething)
                if refused is None and command.get("department") != args.department:
                    refused = f"a command for {command.get('department')!r}, not for us"
                if refused is not None:  # not from OneThing: nothing done, nothing answered
                    records.refuse(command["idempotency_key"], refused)
                    continue
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
                data["proof"], data["proof_key_id"] = prove(key, data), key_id
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
        "--signing-key",
        required=True,
        help="KEY_ID=PEM_FILE, the department's own private key that proves its answers "
        "(`onething department-keys CODE` makes one; OneThing holds its public key)",
    )
    parser.add_argument(
        "--command-key",
        action="append",
        required=True,
        help="KEY_ID=PEM_FILE, OneThing's public key that signs commands "
        "(`onething command-keys DIR`); repeat while keys rotate",
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
