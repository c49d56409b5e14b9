from odoo import fields, models
from odoo.tools import SQL


class OmnichannelCustomerLock(models.Model):
    """One row per business key that identity rules serialize on (a channel
    user, an E.164 phone, an email, a call).

    Why rows and not PostgreSQL advisory locks: Odoo runs transactions in
    REPEATABLE READ, so a worker that waited for an advisory lock still reads
    the database as it was when its transaction started, and would not see the
    partner the other worker has just created for the same phone: two partners
    for one customer.  Writing the key's row both waits for the other worker
    and, when that worker changed the row after our snapshot, fails with a
    serialization error; the journal then retries the event in a fresh
    transaction that sees everything the other worker committed."""

    _name = "omnichannel.customer.lock"
    _description = "Customer Identity Lock"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    locked_date = fields.Datetime(readonly=True)

    _key_unique = models.Constraint("UNIQUE(key)", "One lock row per key.")

    def _acquire(self, *keys):
        """Lock ``keys`` until the end of the transaction (see the class), in
        one statement and in one order for every worker, so that two workers
        never hold one key each while waiting for the other's.
        A serialization failure here is expected under contention and handled
        by the journal's retry: not an error worth a log line."""
        rows = SQL(", ").join(
            SQL("(%s, now() AT TIME ZONE 'UTC')", key)
            for key in sorted({key[:255] for key in keys})
        )
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO omnichannel_customer_lock AS lock (key, locked_date)
            VALUES %s
            ON CONFLICT (key) DO UPDATE SET locked_date = EXCLUDED.locked_date
        """,
                rows,
            ),
            log_exceptions=False,
        )
