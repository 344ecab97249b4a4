"""Which SDK generation the test double behaves as.

LABELHUB_TEST_ANGO_SDK picks it (1.1, 1.3 or 1.4; 1.4 when unset); README.md
next to this package says what each one does on the wire.
LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS shortens the SDK's 60 s heartbeat
interval for tests that wait for a heartbeat (the published SDK has no such
setting).
"""
import os

ENV = "LABELHUB_TEST_ANGO_SDK"
HEARTBEAT_ENV = "LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS"
GENERATIONS = ("1.1", "1.3", "1.4")


def current():
    value = os.environ.get(ENV, "").strip() or "1.4"
    if value not in GENERATIONS:
        raise RuntimeError("%s=%r: the imerit_ango test double knows the generations %s"
                           % (ENV, value, ", ".join(GENERATIONS)))
    return value


def heartbeat_seconds():
    raw = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return 60.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise RuntimeError("%s=%r: want a positive number of seconds" % (HEARTBEAT_ENV, raw))
    return seconds


GENERATION = current()
