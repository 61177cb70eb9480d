"""The bench's reading of its CPU tables against the ratio goals."""

from typing import Any

from tests.bench.report import floor_rows, memory_floor


def a_round(ours: dict[str, float], bare: dict[str, float], per_s: tuple[float, float]) -> Any:
    opening = {"per_s": per_s[0], "cpu_ms": ours}
    drain_memory = [{"in_flight": 0, "worker": 100.0}, {"in_flight": 1000, "worker": 140.0}]
    bare_memory = [{"in_flight": 0, "worker": 50.0}, {"in_flight": 1000, "worker": 70.0}]
    return {
        "opening": {
            "full_path": opening,
            "via_api": opening,
            "bare": {"per_s": per_s[1], "cpu_ms": bare},
        },
        "drain": {
            "onething": {"ended_per_s": per_s[0], "cpu_ms": ours, "memory": drain_memory},
            "bare": {"ended_per_s": per_s[1], "cpu_ms": bare, "memory": bare_memory},
        },
    }


def test_the_ratio_is_predicted_from_the_cpu_in_all_and_from_the_busiest_process() -> None:
    ours = {"temporal": 50.0, "worker": 40.0, "bridge": 10.0}
    bare = {"temporal": 40.0, "bare": 20.0}
    rows = floor_rows([a_round(ours, bare, (6.0, 10.0))])
    assert [row[0] for row in rows] == ["full path (≥ 0.9)", "via API (≥ 0.85)", "drain (≥ 0.9)"]
    full_path = rows[0]
    assert full_path[1:] == ("0.6", "0.6", "0.8", "66.7", "60.0", "100.0")
    assert rows[1][4] == "70.6"  # 60 ÷ 0.85


def test_a_goal_whose_cpu_was_not_measured_has_no_row() -> None:
    measured = a_round({"temporal": 1.0, "worker": 1.0}, {"temporal": 1.0}, (1.0, 1.0))
    del measured["drain"]["onething"]["cpu_ms"]
    assert [row[0] for row in floor_rows([measured])] == ["full path (≥ 0.9)", "via API (≥ 0.85)"]


def test_the_memory_goal_leaves_what_bare_allows_less_what_ours_loads() -> None:
    line = memory_floor([a_round({"worker": 1.0}, {"temporal": 1.0}, (1.0, 1.0))])
    assert "bare's held 70.0 MiB, so the goal allows 84.0" in line
    assert "ours held 100.0 before the first was started, which leaves nothing for" in line
    assert "A run takes 20 KiB in bare's worker, 41 in ours." in line
    roomy = a_round({"worker": 1.0}, {"temporal": 1.0}, (1.0, 1.0))
    roomy["drain"]["bare"]["memory"][-1]["worker"] = 100.0
    assert "which leaves 20.0 MiB, 20 KiB a run." in memory_floor([roomy])
