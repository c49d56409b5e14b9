import time

from odoo import api, fields, models

#: Length of a counting window, in seconds.
RATE_WINDOW = 60
#: Defaults of the settings (requests per minute): one visitor, one channel.
DEFAULT_PER_ADDRESS = 30
DEFAULT_PER_CHANNEL = 600


class OmnichannelRateLimit(models.Model):
    """Request counters of the public pages (contact form, lead API, widget,
    Sandbox): one row per key (channel and visitor address, or channel)
    counting the requests of the current minute and keeping the count of the
    minute before.  The limit applies to a sliding minute, estimated from
    both (the previous count weighted by the part of it still inside the
    last 60 seconds): with fixed minutes alone, a visitor could send twice
    the limit across the turn of a minute.

    Counted in PostgreSQL rather than in a worker's memory: with several
    HTTP workers, or several Odoo servers, a visitor's requests spread over
    all of them, and each would otherwise allow the full limit.  A refused
    request stores nothing but the increment of its counter."""

    _name = "omnichannel.rate.limit"
    _description = "Public Request Counter"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    window_start = fields.Integer(
        readonly=True, help="Start of the counted minute (seconds since the epoch)."
    )
    hits = fields.Integer(readonly=True)
    previous_hits = fields.Integer(
        readonly=True, help="Requests of the minute before the counted one."
    )

    _key_unique = models.Constraint("UNIQUE(key)", "One counter per key.")

    @api.model
    def _hit(self, key, limit):
        """Count a request on ``key``; return 0 when it is within ``limit``
        requests per window, else the seconds until the window ends (the
        Retry-After of the 429).  A limit of 0 or less counts nothing."""
        if limit <= 0:
            return 0
        moment = time.time()
        now = int(moment)
        window_start = now - now % RATE_WINDOW
        self.env.cr.execute(
            """
            INSERT INTO omnichannel_rate_limit AS counter (key, window_start, hits,
                previous_hits)
            VALUES (%s, %s, 1, 0)
            ON CONFLICT (key) DO UPDATE SET
                previous_hits = CASE WHEN counter.window_start = EXCLUDED.window_start
                    THEN counter.previous_hits
                                     WHEN counter.window_start = EXCLUDED.window_start
                                         - %s THEN counter.hits
                                     ELSE 0 END,
                hits = CASE WHEN counter.window_start = EXCLUDED.window_start THEN
                    counter.hits + 1 ELSE 1 END,
                window_start = EXCLUDED.window_start
            RETURNING hits, previous_hits
        """,
            [key[:255], window_start, RATE_WINDOW],
        )
        current, previous = self.env.cr.fetchone()
        # The sliding minute: the part of the previous minute still inside it.
        elapsed = moment - window_start
        hits = current + previous * max(0.0, 1 - elapsed / RATE_WINDOW)
        if current == 1 and key.startswith("channel:"):
            # Once a minute per channel: forget the visitors of past minutes.
            self.env.cr.execute(
                "DELETE FROM omnichannel_rate_limit WHERE window_start < %s",
                [window_start - RATE_WINDOW],
            )
        return 0 if hits <= limit else max(1, window_start + RATE_WINDOW - now)
