"""Materials in a running application: what each command carries, promised materials (容缺)
coming in, reminded of and lapsing, and commitments (告知承诺) found untrue."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from one_things.materials import PlannedMaterial, Settled
    from one_things.plan import PlannedTask
    from one_things.schema import OnFailure
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import ApplicationStatus, SuppliedMaterial

from orchestrator.workflow.platform import Platform


class Promises(Platform):
    """The application's materials as they stand."""

    def _materials_for(self, task: PlannedTask) -> list[PlannedMaterial]:
        assert self._progress is not None
        return [m for m in self._progress.materials if task.matter in m.matters]

    def _materials_settled(self, settled: Settled) -> list[PlannedMaterial]:
        assert self._progress is not None
        return [m for m in self._progress.materials if m.settled is settled]

    def _open_promises(self) -> list[PlannedMaterial]:
        return self._materials_settled(Settled.PROMISED)

    def _materials_committed(self) -> list[PlannedMaterial]:
        return self._materials_settled(Settled.COMMITTED)

    def _resettle(self, material_id: str, **changes: object) -> None:
        """The material as it stands now: supplied, lapsed, or its commitment found untrue."""
        assert self._progress is not None
        self._progress.materials = [
            m.model_copy(update=changes) if m.id == material_id else m
            for m in self._progress.materials
        ]

    def _supply(self, supplied: SuppliedMaterial) -> None:
        self._resettle(supplied.material, settled=Settled.PROVIDED, sha256=supplied.sha256)

    def _until_next_promise(self) -> timedelta | None:
        """Until the next reminder or due time of an open promise, if there is one."""
        assert self._progress is not None
        promises = self._open_promises()
        times = [
            steps.reminder_at(m, self._progress.submitted_at)
            for m in promises
            if m.id not in self._reminded
        ] + [m.due for m in promises if m.due is not None]
        if not times:
            return None
        return max(min(times) - workflow.now(), timedelta(0))

    def _remind_or_lapse(self) -> None:
        """Remind of a promise soon due; apply a lapsed one's matters' failure policies."""
        assert self._progress is not None
        now = workflow.now()
        for material in self._open_promises():
            assert material.due is not None
            if material.due <= now:
                self._lapse(material)
            elif material.id not in self._reminded and (
                steps.reminder_at(material, self._progress.submitted_at) <= now
            ):
                self._reminded.add(material.id)
                due = steps.local_time(material.due)
                reminder = f"reminder: {material.title} is due by {due}"
                self._status_event(self._progress.status.value, reminder)

    def _lapse(self, material: PlannedMaterial) -> None:
        assert material.due is not None
        reason = f"{material.title} not supplied by {steps.local_time(material.due)} (容缺)"
        self._material_failed(material, Settled.LAPSED, reason)

    def _material_failed(self, material: PlannedMaterial, settled: Settled, reason: str) -> None:
        """A promise lapsed or a commitment found untrue: each matter it went to fails as its
        failure policy says (abort: the application is rejected; continue: it is refused)."""
        self._resettle(material.id, settled=settled)
        for matter in material.matters:
            task = self._planned_by_id.get(matter)
            if task is None:
                continue
            if task.on_failure is OnFailure.ABORT:
                self._end(ApplicationStatus.REJECTED, f"{task.title}: {reason}")
            else:
                self._revoking[task.task_id] = reason
