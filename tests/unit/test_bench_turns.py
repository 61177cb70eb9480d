from tests.bench.measure import in_turn


def test_each_half_runs_once_in_every_place_over_as_many_rounds() -> None:
    variants = ["bare", "full_path", "via_api"]
    orders = [in_turn(turn, variants) for turn in range(len(variants))]
    assert orders[0] == variants
    for place in range(len(variants)):
        assert sorted(order[place] for order in orders) == sorted(variants)
    assert in_turn(len(variants), variants) == variants
