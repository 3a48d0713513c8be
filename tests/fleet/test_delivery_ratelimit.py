"""Per-sender token bucket, the hop limit's reply counting and the once-a-minute cap on refusal
notices."""

from breakroom.fleet.ratelimit import HopTracker, OncePerWindow, RateLimiter


class FakeClock:
    """A settable clock: time is a value the test controls, not a mocked component."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_allows_burst_then_refuses_then_refills():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("a") == 10.0
    assert limiter.allow("b")  # per sender
    clock.now += 10
    assert limiter.allow("a") and not limiter.allow("a")


def test_bucket_default_burst_is_a_minutes_worth():
    limiter = RateLimiter(per_minute=20, clock=FakeClock())
    assert sum(limiter.allow("x") for _ in range(25)) == 20


def test_hops_count_replies_between_bots():
    clock = FakeClock()
    hops = HopTracker(window=60, clock=clock)
    assert hops.hop("a", "b", automated=True) == 0
    assert hops.hop("b", "a", automated=True) == 1
    assert hops.hop("a", "b", automated=True) == 2
    assert hops.hop("b", "a", automated=True) == 3


def test_hops_reset_after_the_window():
    clock = FakeClock()
    hops = HopTracker(window=60, clock=clock)
    hops.hop("a", "b", automated=True)
    clock.now += 61
    assert hops.hop("b", "a", automated=True) == 0


def test_humans_are_always_hop_zero_and_break_the_chain():
    clock = FakeClock()
    hops = HopTracker(window=60, clock=clock)
    hops.hop("a", "human", automated=True)
    assert hops.hop("human", "a", automated=False) == 0
    # a's reply to the human's fresh message starts at 1, not 2
    assert hops.hop("a", "human", automated=True) == 1


def test_a_service_bots_answer_is_one_hop_deeper_than_the_question():
    clock = FakeClock()
    hops = HopTracker(window=60, clock=clock)
    # a session asks knowledge, knowledge answers (delivered), the session asks again …
    depths = []
    for _ in range(3):
        depths.append(hops.hop("worker", "knowledge", automated=True))
        depths.append(hops.hop("knowledge", "worker", automated=True))
    assert depths == [0, 1, 2, 3, 4, 5]  # so the hop limit ends the exchange


def test_one_refusal_notice_per_sender_per_window() -> None:
    now = [0.0]
    once = OncePerWindow(60.0, clock=lambda: now[0])
    assert [once.allow("flooder") for _ in range(300)].count(True) == 1
    assert once.allow("someone else")
    now[0] = 60.0
    assert once.allow("flooder") and not once.allow("flooder")
