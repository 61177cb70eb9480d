"""Pure graph helpers over `depends_on` edges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(depends_on: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in depends_on.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in depends_on:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def critical_path(durations: Mapping[str, float], depends_on: Mapping[str, Sequence[str]]) -> float:
    """The longest chain of durations through an acyclic dependency graph."""
    finish: dict[str, float] = {}

    def finish_of(node: str) -> float:
        if node not in finish:
            start = max((finish_of(d) for d in depends_on.get(node, ())), default=0.0)
            finish[node] = start + durations[node]
        return finish[node]

    return max((finish_of(n) for n in durations), default=0.0)


def topological_order(depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every dependency before its dependants, stable in the given order."""
    order: list[str] = []
    placed: set[str] = set()

    def place(node: str) -> None:
        if node not in placed:
            placed.add(node)
            for dep in depends_on.get(node, ()):
                place(dep)
            order.append(node)

    for node in depends_on:
        place(node)
    return order
