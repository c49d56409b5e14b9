"""Automatic retries of failed background work, one backoff for every queue.

Each queue (inbound events, file downloads, call recordings, outgoing
messages) retries on the same growing delays, and only says how many
retries it allows before it gives up (failed) or waits for a person (Retry).
"""

from datetime import timedelta

#: The delays between automatic retries: try 2 is due a minute after try 1
#: failed, try 3 five minutes after try 2, ... at most every 12 hours.
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 720))


def backoff(retries):
    """The delays of a queue that retries ``retries`` times."""
    if not 0 <= retries <= len(BACKOFF):
        raise ValueError(f"at most {len(BACKOFF)} retries")
    return BACKOFF[:retries]


def next_try(now, attempts, delays):
    """When the next try is due after try number ``attempts`` (from 1)
    failed at ``now``, or None when ``delays`` are spent."""
    if 1 <= attempts <= len(delays):
        return now + delays[attempts - 1]
    return None
