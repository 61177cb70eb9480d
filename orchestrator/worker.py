"""The worker process: runs OneThingWorkflow, LateUndoWorkflow and their activities."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from infra import kafka
from infra.health import Health, kafka_reachable, temporal_reachable
from infra.logging import get_logger
from infra.loops import run_until_stopped
from infra.settings import Settings
from one_things import load_catalogue
from orchestrator.activities.dispatch import TaskActivities, await_answer
from orchestrator.activities.issuing import LicenceActivities
from orchestrator.activities.proactive import ProactiveActivities
from orchestrator.client import connect
from orchestrator.intake.service import Intake
from orchestrator.ops.signed_requests import ProvenRequests
from orchestrator.stores.audit import GroupCommit, audit_trail
from orchestrator.stores.library import licence_library
from orchestrator.stores.material_store import material_store
from orchestrator.stores.materials import material_links
from orchestrator.workflow.late import LateUndoWorkflow
from orchestrator.workflow.sandbox import check_context_free, sandbox
from orchestrator.workflow.workflow import OneThingWorkflow

log = get_logger(__name__)
# Activities a workflow task may start itself, in its completion, without a poll through the
# task queue: every waiting task of a stage (the catalogue's widest has 12) and the bench's
# 12-task plans. With the SDK's 3, the rest of a stage started 20–75 ms later, and an answer
# that came first met an activity not yet started (the bridge queried and waited 50 ms).
EAGER_ACTIVITIES = 64


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    address = f"{settings.host}:{settings.worker_metrics_port}"
    telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=address))
    client = await connect(settings, runtime=Runtime(telemetry=telemetry))
    check_context_free(client.data_converter)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        key_id = settings.reply_key_id
        trail = audit_trail(settings)
        acts = TaskActivities(
            producer,
            key_id,
            settings.secret_key_bytes("reply")[key_id],
            material_links(settings),
            timedelta(hours=settings.material_link_hours),
            GroupCommit(trail),
            settings.required_signer("command"),
            settings.required_signer("status"),
        )
        library = licence_library(settings)
        licences = LicenceActivities(library)
        catalogue = load_catalogue(settings.catalogue_dir)
        proactive = ProactiveActivities(
            Intake(settings, catalogue, client, library, material_store(settings), trail)
        )
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[OneThingWorkflow, LateUndoWorkflow],
            activities=[
                await_answer,
                acts.publish_command,
                acts.publish_commands,
                acts.publish_events,
                licences.issue_licences,
                proactive.start_proactive,
            ],
            workflow_runner=sandbox(),
            interceptors=[ProvenRequests(settings.verifier("request"))],
            max_eager_activity_reservations_per_workflow_task=EAGER_ACTIVITIES,
            max_cached_workflows=settings.worker_cached_runs,
        )
        health = Health(
            temporal=temporal_reachable(client), kafka=kafka_reachable(producer.reachable)
        )
        gc.freeze()  # and what starting built: the catalogue, the worker (gen2 pauses 32 → 13 ms)
        log.info("worker_started", task_queue=settings.task_queue)
        await run_until_stopped(
            stop, worker.run(), health.serve(settings.host, settings.worker_health_port)
        )
    finally:
        await producer.stop()
