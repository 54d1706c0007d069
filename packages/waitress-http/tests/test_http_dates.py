"""http_date: the IMF-fixdate format and its once-per-second cache."""

import email.utils
import time

import pytest
from waitress_http import dates
from waitress_http.dates import http_date


class FakeClock:
    """Stands in for the ``time`` module inside waitress_http.dates."""

    def __init__(self, now):
        self.now = now
        self.formatted = 0

    def time(self):
        return self.now

    def gmtime(self, seconds):
        self.formatted += 1
        return time.gmtime(seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock(784111777.25)
    monkeypatch.setattr(dates, "time", fake)
    monkeypatch.setattr(dates, "_current", (-1, ""))
    return fake


@pytest.mark.parametrize(
    "seconds, text",
    [
        (784111777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (951782400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1700000000.999, "Tue, 14 Nov 2023 22:13:20 GMT"),
        (4102444799, "Thu, 31 Dec 2099 23:59:59 GMT"),
    ],
)
def test_explicit_times(seconds, text):
    assert http_date(seconds) == text


def test_matches_stdlib_formatter():
    for seconds in range(0, 2_000_000_000, 37_123_457):
        assert http_date(seconds) == email.utils.formatdate(seconds, usegmt=True)


def test_now_is_parseable_and_close():
    parsed = email.utils.parsedate_to_datetime(http_date())
    assert abs(parsed.timestamp() - time.time()) < 5


def test_current_second_formatted_once(clock):
    first = http_date()
    assert first == "Sun, 06 Nov 1994 08:49:37 GMT"
    clock.now = 784111777.9
    assert http_date() is first
    assert clock.formatted == 1


def test_next_second_reformatted(clock):
    http_date()
    clock.now = 784111778.0
    assert http_date() == "Sun, 06 Nov 1994 08:49:38 GMT"
    assert clock.formatted == 2


def test_explicit_time_does_not_touch_cache(clock):
    http_date()
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date() == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert clock.formatted == 2
