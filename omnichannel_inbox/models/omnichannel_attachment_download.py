import dataclasses
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.omnichannel_inbox import connectors

from ..services import retry
from .cron_progress import commit_progress, in_scheduler
from .omnichannel_conversation import _safe_file

_logger = logging.getLogger(__name__)

#: Waits between automatic tries of a file the provider would not give
#: (file server down, media not ready yet); after the last one the download
#: waits for a person to press Retry in the chat panel.
DOWNLOAD_RETRY_DELAYS = retry.backoff(6)
#: Files per cron run; the cron wakes itself again when more are due.
DOWNLOAD_BATCH = 20


class OmnichannelAttachmentDownload(models.Model):
    """A file of a customer's message still to be fetched from the provider.

    The message (its text) is stored at once and the journal row is done;
    each of its files is one row here, downloaded by a cron woken with
    ``_trigger()`` - never inside the webhook request, and never holding the
    text back.  Until the file arrives the chat panel shows a placeholder
    ("photo - downloading"), after the last automatic try the reason and a
    Retry button."""

    _name = "omnichannel.attachment.download"
    _description = "File waiting to be downloaded"
    _order = "id"

    message_id = fields.Many2one(
        "omnichannel.message",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    conversation_id = fields.Many2one(related="message_id.conversation_id", store=True)
    channel_id = fields.Many2one(
        related="message_id.channel_id", store=True, index=True
    )
    company_id = fields.Many2one(related="message_id.company_id", store=True)
    name = fields.Char("File", readonly=True)
    kind = fields.Char(
        readonly=True, help="image, document, audio, voice, video, sticker"
    )
    reference = fields.Json(
        readonly=True,
        help="The provider's reference to the file, as the connector parsed it.",
    )
    state = fields.Selection(
        [
            ("pending", "Downloading"),
            ("done", "Downloaded"),
            ("failed", "Could not be downloaded"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    next_attempt_date = fields.Datetime(readonly=True)
    error_message = fields.Char("Reason", readonly=True)
    attachment_id = fields.Many2one("ir.attachment", readonly=True, ondelete="set null")

    _due_idx = models.Index("(next_attempt_date, id) WHERE state = 'pending'")

    # ------------------------------------------------------------------
    # Queue
    # ------------------------------------------------------------------
    @api.model
    def _queue(self, message, attachments):
        """One row per provider file of ``message``; the cron fetches them."""
        rows = self.sudo().create(
            [
                {
                    "message_id": message.id,
                    "name": attachment.filename or False,
                    "kind": attachment.kind or "document",
                    "reference": dataclasses.asdict(attachment),
                    "next_attempt_date": fields.Datetime.now(),
                }
                for attachment in attachments
            ]
        )
        if rows:
            self._wake()
        return rows

    @api.model
    def _wake(self, when=None):
        self.env.ref("omnichannel_inbox.ir_cron_download_attachments").sudo()._trigger(
            when
        )

    @api.model
    def _claim(self, limit=DOWNLOAD_BATCH):
        """Lock the due rows no other worker holds, in one statement: under
        REPEATABLE READ the statement that locks is the one that takes the
        snapshot, so a row another worker finished and committed just before
        is seen as it is now (not a "could not serialize access" failure),
        and a row it still holds is skipped, never waited for."""
        self.flush_model(["state", "next_attempt_date"])
        query = self.sudo()._search(
            [
                ("state", "=", "pending"),
                ("next_attempt_date", "<=", fields.Datetime.now()),
            ],
            order="next_attempt_date, id",
            limit=limit,
        )
        self.env.cr.execute(SQL("%s FOR UPDATE SKIP LOCKED", query.select()))
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _cron_download(self):
        """Fetch the due files, each in its own committed step (cron
        progress); the scheduler runs the cron again while more are due."""
        in_cron = in_scheduler(self.env)
        if in_cron:
            # Start a fresh transaction: the claim below takes its snapshot.
            self.env.cr.commit()
        rows = self._claim()
        done = self.browse()
        for row in rows:
            if in_cron and done:
                # The last commit released the claim's other locks: take this
                # row again (a new transaction, a fresh snapshot) unless
                # another worker has it or has fetched it meanwhile.
                row = row._claim_again()
                if not row:
                    continue
            row._download()
            done |= row
            commit_progress(self.env, 1)
        remaining = 0
        if len(rows) >= DOWNLOAD_BATCH:
            remaining = self.sudo().search_count(
                [
                    ("state", "=", "pending"),
                    ("next_attempt_date", "<=", fields.Datetime.now()),
                ]
            )
        commit_progress(self.env, remaining=remaining)
        return done

    def _claim_again(self):
        self.flush_model(["state"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_attachment_download WHERE id = %s AND "
                "state = 'pending' FOR UPDATE SKIP LOCKED",
                self.id,
            )
        )
        row = self.browse([r[0] for r in self.env.cr.fetchall()])
        row.invalidate_recordset()
        return row

    def _download(self):
        self.ensure_one()
        row = self.sudo()
        reference = connectors.Attachment(
            **{
                key: value
                for key, value in (row.reference or {}).items()
                if key in {f.name for f in dataclasses.fields(connectors.Attachment)}
            }
        )
        try:
            data, mimetype, filename = row.channel_id._get_connector().fetch_media(
                reference
            )
        # noqa: BLE001 - any failure is kept on the row and retried
        except Exception as exc:
            row._download_failed(exc)
            return False
        conversation = row.conversation_id
        # The same rules as a file that came with its message: a clean name,
        # and nothing HTML, SVG or XML stored as such (see _safe_file).
        name, raw, info = _safe_file(filename or row.name, data, mimetype)
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .with_context(attachments_mime_plainxml=True)
            .create(
                {
                    "name": name,
                    "raw": raw,
                    "mimetype": info["mimetype"] or False,
                    "res_model": "omnichannel.conversation",
                    "res_id": conversation.id,
                }
            )
        )
        row.message_id.mail_message_id.sudo().write(
            {"attachment_ids": [(4, attachment.id)]}
        )
        row.write(
            {
                "state": "done",
                "attachment_id": attachment.id,
                "error_message": False,
                "next_attempt_date": False,
                "attempts": row.attempts + 1,
            }
        )
        conversation._notify_panel()
        return True

    def _download_failed(self, exc):
        attempts = self.attempts + 1
        error = (str(exc) or exc.__class__.__name__)[:250]
        _logger.info(
            "Omnichannel: file %s of message %s not downloaded (attempt %s): %s",
            self.id,
            self.message_id.id,
            attempts,
            error,
        )
        vals = {"attempts": attempts, "error_message": error}
        next_try = retry.next_try(
            fields.Datetime.now(), attempts, DOWNLOAD_RETRY_DELAYS
        )
        if next_try:
            vals["next_attempt_date"] = next_try
            self.write(vals)
            self._wake(vals["next_attempt_date"])
        else:
            vals.update(state="failed", next_attempt_date=False)
            self.write(vals)
            self.conversation_id._message_log(
                body=self.env._(
                    "The %(file)s the customer sent could not be downloaded: %(error)s",
                    file=self.name or self._kind_label(),
                    error=error,
                )
            )
        self.conversation_id._notify_panel()

    def action_retry(self):
        """Try again now (the chat panel's Retry): back in the queue with a
        fresh series of tries, fetched by the cron."""
        rows = self.sudo().filtered(lambda r: r.state in ("pending", "failed"))
        rows.write(
            {
                "state": "pending",
                "attempts": 0,
                "next_attempt_date": fields.Datetime.now(),
            }
        )
        if rows:
            self._wake()
            rows.conversation_id._notify_panel()
        return True

    # ------------------------------------------------------------------
    # Chat panel
    # ------------------------------------------------------------------
    def _kind_label(self):
        labels = {
            "image": self.env._("photo"),
            "video": self.env._("video"),
            "voice": self.env._("voice message"),
            "audio": self.env._("audio"),
            "sticker": self.env._("sticker"),
        }
        return labels.get(self.kind) or self.env._("file")

    def _panel_values(self):
        """Placeholders of the files not (yet) there; a downloaded file is an
        ordinary attachment of the message."""
        return [
            {
                "id": row.id,
                "name": row.name or "",
                "kind_label": row._kind_label(),
                "state": row.state,
                "error": row.error_message or "",
                "next_attempt_date": fields.Datetime.to_string(row.next_attempt_date)
                if row.next_attempt_date
                else False,
            }
            for row in self.sudo()
            if row.state != "done"
        ]
