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
    counting the requests of the current minute.

    Counted in PostgreSQL rather than in a worker's memory: with several
    HTTP workers, or several Odoo servers, a visitor's requests spread over
    all of them, and each would otherwise allow the full limit.  A refused
    request stores nothing but the increment of its counter."""
    _name = 'omnichannel.rate.limit'
    _description = 'Public Request Counter'
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    window_start = fields.Integer(readonly=True, help='Start of the counted minute (seconds since the epoch).')
    hits = fields.Integer(readonly=True)

    _key_unique = models.Constraint('UNIQUE(key)', 'One counter per key.')

    @api.model
    def _hit(self, key, limit):
        """Count a request on ``key``; return 0 when it is within ``limit``
        requests per window, else the seconds until the window ends (the
        Retry-After of the 429).  A limit of 0 or less counts nothing."""
        if limit <= 0:
            return 0
        now = int(time.time())
        window_start = now - now % RATE_WINDOW
        self.env.cr.execute("""
            INSERT INTO omnichannel_rate_limit AS counter (key, window_start, hits) VALUES (%s, %s, 1)
            ON CONFLICT (key) DO UPDATE SET
                hits = CASE WHEN counter.window_start = EXCLUDED.window_start THEN counter.hits + 1 ELSE 1 END,
                window_start = EXCLUDED.window_start
            RETURNING hits
        """, [key[:255], window_start])
        hits = self.env.cr.fetchone()[0]
        if hits == 1 and key.startswith('channel:'):
            # Once a minute per channel: forget the visitors of past minutes.
            self.env.cr.execute("DELETE FROM omnichannel_rate_limit WHERE window_start < %s", [window_start - RATE_WINDOW])
        return 0 if hits <= limit else max(1, window_start + RATE_WINDOW - now)
