import time

import pytest

from movie_pipeline.tmdb.ratelimit import RateLimiter, shared_limiter


def test_reservations_are_spaced_at_the_rate():
    limiter = RateLimiter(rate=4)
    waits = [limiter.reserve() for _ in range(9)]
    assert waits[0] == 0
    assert waits[8] == pytest.approx(2.0, abs=0.05)
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert all(gap == pytest.approx(0.25, abs=0.02) for gap in gaps)


def test_burst_tolerance_catches_up_after_a_stall_but_gives_no_head_start():
    limiter = RateLimiter(rate=10, burst=3)
    waits = [limiter.reserve() for _ in range(3)]
    assert waits[0] == 0 and waits[1] == pytest.approx(0.1, abs=0.02) and waits[2] == pytest.approx(0.2, abs=0.02)
    time.sleep(0.6)  # a stall: the slots at 0.3..0.5 s were not used
    catch_up = [limiter.reserve() for _ in range(4)]
    assert catch_up[:3] == [0, 0, 0], "up to burst slots are caught up at once"
    assert catch_up[3] == pytest.approx(0.1, abs=0.03)


def test_pause_holds_every_caller_back():
    limiter = RateLimiter(rate=100)
    limiter.pause(1.5)
    assert limiter.reserve() == pytest.approx(1.5, abs=0.05)


def test_idle_time_is_not_banked_beyond_the_burst():
    limiter = RateLimiter(rate=50)
    limiter.reserve()
    time.sleep(0.2)
    waits = [limiter.reserve() for _ in range(3)]
    assert waits[0] == 0 and waits[2] == pytest.approx(0.04, abs=0.01)


def test_one_limiter_per_host_and_rate():
    a = shared_limiter("http://x/3", 4)
    assert shared_limiter("http://x/3", 4) is a
    assert shared_limiter("http://y/3", 4) is not a
    assert shared_limiter("http://x/3", 8).rate == 8
