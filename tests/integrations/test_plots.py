"""The funnel plot's data: its limits, each point's colour by status, the legend, the names set apart, and a plot
that says there is not enough data rather than failing."""

import itertools

from integrations.plots import LABEL_CHAR_WIDTH, LABEL_HEIGHT, FunnelPoint, funnel_layout, funnel_png

STATUSES = {"below": ("tab:red", "below its limits"), "within": ("tab:blue", "within its limits")}


def limits(expected: float, z: float) -> tuple[float, float]:
    spread = z * (1 / expected) ** 0.5
    return 1 - spread, 1 + spread


def test_each_point_is_coloured_by_its_status_and_the_legend_names_only_the_statuses_shown() -> None:
    points = [
        FunnelPoint("A", 40, 0.5, "below"),
        FunnelPoint("B", 60, 1.0, "within"),
        FunnelPoint("C", 80, 1.1, "within"),
    ]
    layout = funnel_layout(points, limits=limits, funnels=[(1.96, "95%")], statuses=STATUSES, title="t")
    assert {pp.point.label: pp.colour for pp in layout.points} == {"A": "tab:red", "B": "tab:blue", "C": "tab:blue"}
    assert layout.legend == (("tab:red", "below its limits"), ("tab:blue", "within its limits"))
    only_within = funnel_layout(points[1:], limits=limits, funnels=[(1.96, "95%")], statuses=STATUSES, title="t")
    assert only_within.legend == (("tab:blue", "within its limits"),)  # no "orange: flagged" with no flagged point


def test_the_limits_drawn_are_the_funnel_given_above_zero_expected() -> None:
    layout = funnel_layout(
        [FunnelPoint("A", 40, 0.9, "within"), FunnelPoint("B", 90, 1.1, "within")],
        limits=limits,
        funnels=[(1.96, "95%"), (3.09, "99.8%")],
        statuses=STATUSES,
        title="t",
    )
    assert [c[0] for c in layout.curves] == ["95%", "99.8%"]
    assert min(layout.xs) > 0 and max(layout.xs) >= 90
    for label, _, lower, upper in layout.curves:
        z = 1.96 if label == "95%" else 3.09
        for x, lo, hi in zip(layout.xs, lower, upper, strict=True):
            assert (lo, hi) == (max(limits(x, z)[0], 0.0), limits(x, z)[1])


def test_partners_names_do_not_overlap_even_for_points_on_top_of_each_other() -> None:
    points = [FunnelPoint(f"Partner {i}", 50 + (i % 2), 1.0 + 0.001 * i, "within") for i in range(8)]
    layout = funnel_layout(points, limits=limits, funnels=[], statuses=STATUSES, title="t", name_all=True)
    boxes = []
    for pp in layout.points:
        assert pp.label_at is not None
        x, y = pp.label_at[0] / layout.x_max, pp.label_at[1] / layout.y_max
        boxes.append((x, y, LABEL_CHAR_WIDTH * len(pp.point.label), LABEL_HEIGHT))
    for a, b in itertools.combinations(boxes, 2):
        apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
        assert apart, (a, b)


def test_no_data_one_partner_or_no_spread_gives_a_plot_saying_there_is_not_enough_data() -> None:
    one = [FunnelPoint("A", 12, 1.0, "within")]
    at_zero = [FunnelPoint("A", 0.0, 1.0, "within"), FunnelPoint("B", 0.0, 1.0, "within")]
    cases = [([], limits), (one, limits), (at_zero, limits), (one + [FunnelPoint("B", 20, 1, "within")], None)]
    for points, given in cases:
        layout = funnel_layout(points, limits=given, funnels=[(1.96, "95%")], statuses=STATUSES, title="t")
        assert layout.message is not None and layout.message.startswith("Not enough data"), points
        assert layout.points == () and layout.curves == ()
        assert funnel_png(layout)[:8] == b"\x89PNG\r\n\x1a\n"
