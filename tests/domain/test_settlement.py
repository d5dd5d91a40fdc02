from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.settlement import (
    Carried,
    outstanding,
    recoverability,
    recovery_cap,
    recovery_words,
    settle,
)

QUARTER = Decimal("0.25")


def test_an_overpayment_is_carried_not_paid_as_a_negative() -> None:
    s = settle("p", -38462, 0, correction=True, max_share=QUARTER, notify_min_pence=100)
    assert (s.paid_pence, s.carried_pence, s.balance_after_pence, s.notify) == (0, -38462, -38462, True)


def test_recovery_takes_at_most_the_share_of_the_payment_rounded_down() -> None:
    s = settle("p", 400001, -500000, correction=False, max_share=QUARTER, notify_min_pence=100)
    assert s.settled_pence == -100000  # 25% of 4,000.01 is 1,000.0025: never more than the share
    assert s.paid_pence == 300001 and s.balance_after_pence == -400000


def test_the_last_part_of_a_recovery_takes_only_what_remains() -> None:
    s = settle("p", 400000, -1234, correction=False, max_share=QUARTER, notify_min_pence=100)
    assert (s.settled_pence, s.paid_pence, s.balance_after_pence) == (-1234, 398766, 0)


def test_a_correction_under_the_threshold_is_carried_silently_and_paid_with_the_next_payment() -> None:
    penny = settle("p", 1, 0, correction=True, max_share=QUARTER, notify_min_pence=100)
    assert (penny.paid_pence, penny.balance_after_pence, penny.notify) == (0, 1, False)
    minus = settle("q", -99, 0, correction=True, max_share=QUARTER, notify_min_pence=100)
    assert (minus.paid_pence, minus.balance_after_pence, minus.notify) == (0, -99, False)
    nxt = settle("p", 400000, 1, correction=False, max_share=QUARTER, notify_min_pence=100)
    assert (nxt.settled_pence, nxt.paid_pence, nxt.notify) == (1, 400001, True)


def test_a_partner_a_correction_did_not_touch_is_not_told_and_nothing_settles() -> None:
    s = settle("p", 0, -5000, correction=True, max_share=QUARTER, notify_min_pence=100)
    assert (s.paid_pence, s.settled_pence, s.carried_pence, s.notify) == (0, 0, 0, False)


def test_a_first_run_always_tells_the_partner_even_of_nothing() -> None:
    assert settle("p", 0, 0, correction=False, max_share=QUARTER, notify_min_pence=100).notify


@given(
    st.lists(st.tuples(st.booleans(), st.integers(min_value=-2_000_000, max_value=2_000_000)), min_size=1, max_size=30),
    st.sampled_from([Decimal("0.25"), Decimal("0.1"), Decimal("0.333"), Decimal(1)]),
    st.integers(min_value=0, max_value=500),
)
def test_over_any_runs_nothing_is_paid_negative_no_run_gives_up_more_than_its_share_and_nothing_is_lost(
    runs: list[tuple[bool, int]], share: Decimal, threshold: int
) -> None:
    balance = paid = 0
    history: list[Carried] = []
    recovered = 0
    for n, (correction, net) in enumerate(runs):
        s = settle("p", net, balance, correction=correction, max_share=share, notify_min_pence=threshold)
        assert s.paid_pence >= 0
        if s.settled_pence < 0:
            assert -s.settled_pence <= recovery_cap(s.net_pence, share)
            assert -s.settled_pence <= -balance
        if s.carried_pence:
            history.append(Carried(f"r/v{n}", s.carried_pence))
        recovered -= s.settled_pence
        paid += s.paid_pence
        balance = s.balance_after_pence
        owed = outstanding(history, recovered)
        assert sum(o.remaining_pence for o in owed) == max(-balance, 0) or balance > 0
    # Then regular payments until the balance is settled: everything the nets came to is paid, no more.
    while balance:  # payments large enough to end any recovery in a step or two
        s = settle("p", 10**9, balance, correction=False, max_share=share, notify_min_pence=threshold)
        paid += s.paid_pence - 10**9
        balance = s.balance_after_pence
    assert paid == sum(net for _, net in runs)


def test_outstanding_overpayments_are_recovered_oldest_first() -> None:
    history = [Carried("2026-07/v2", -30000), Carried("2026-08/v2", 50), Carried("2026-09/v3", -10000)]
    left = outstanding(history, 20000)
    assert [(o.run, o.remaining_pence) for o in left] == [("2026-07/v2", 9950), ("2026-09/v3", 10000)]
    words = recovery_words(left, 5000, -14950, QUARTER)
    assert "£99.50 of the £300.00 overpaid by run 2026-07/v2" in words and "£149.50 remains" in words
    assert "at most 25% of any one payment" in words


def test_a_debt_larger_than_the_instalments_left_can_give_is_for_an_invoice() -> None:
    assert not recoverability("p", 3000, [4000, 4000, 4000], QUARTER).invoice
    assert recoverability("p", 3001, [4000, 4000, 4000], QUARTER).invoice
    assert recoverability("p", 1, [], QUARTER).invoice  # funding ended: nothing to recover from
