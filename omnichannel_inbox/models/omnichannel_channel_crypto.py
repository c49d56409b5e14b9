import logging

from odoo import api, fields, models
from odoo.tools import SQL

from . import omnichannel_crypto as crypto
from .omnichannel_channel import ADMIN, SECRET_FIELDS

_logger = logging.getLogger(__name__)


class OmnichannelChannel(models.Model):
    """Administration of the encrypted secrets: the form's warning when they
    cannot be decrypted, the migration of clear values and key rotation."""

    _inherit = "omnichannel.channel"

    secrets_warning = fields.Char(
        "Encryption warning", compute="_compute_secrets_warning", groups=ADMIN
    )

    def _compute_secrets_warning(self):
        for channel in self:
            channel.secrets_warning = (
                channel._secrets_unreadable() if channel.id else False
            )

    @api.model
    def _encrypt_clear_secrets(self):
        """Encrypt the secrets still stored in clear (written by an older
        version, or by SQL) with the configured key; return how many values
        were encrypted.  Run at upgrade (migrations/) and by rotation."""
        return self._reencrypt_secrets(
            crypto.configured_keys(), crypto.configured_keys()
        )

    @api.model
    def _rotate_encryption_key(self, old_key, new_key):
        """Re-encrypt every secret (and every encrypted file, see
        ir.attachment) stored under ``old_key`` with ``new_key``; clear
        values are encrypted too.  Run it from ``odoo-bin shell`` (README),
        then configure ``new_key`` alone.  Returns the number of values
        and files rewritten."""
        old_keys = tuple(k.strip() for k in old_key.split(",") if k.strip())
        new_keys = (new_key.strip(),)
        crypto.fernet(new_keys)  # a malformed new key stops before anything is written
        count = self._reencrypt_secrets(old_keys + new_keys, new_keys)
        count += self.env["ir.attachment"]._omnichannel_reencrypt_files(
            old_keys + new_keys, new_keys
        )
        return count

    @api.model
    def _reencrypt_secrets(self, read_keys, write_keys):
        # Raw SQL: the ORM would decrypt with the configured key only.
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT id, %s FROM omnichannel_channel ORDER BY id FOR UPDATE",
                SQL(", ").join(SQL.identifier(fname) for fname in SECRET_FIELDS),
            )
        )
        count = 0
        for row in cr.fetchall():
            updates = {}
            for fname, value in zip(SECRET_FIELDS, row[1:], strict=True):
                if not value or (
                    crypto.is_encrypted(value) and read_keys == write_keys
                ):
                    # nothing to do: empty, or already under the key (migration)
                    continue
                clear = crypto.decrypt(value, read_keys)
                updates[fname] = crypto.encrypt(clear, write_keys)
            if updates:
                cr.execute(
                    "UPDATE omnichannel_channel SET {} WHERE id = %s".format(
                        ", ".join(f"{fname} = %s" for fname in updates)
                    ),
                    [*updates.values(), row[0]],
                )
                count += len(updates)
        self.env.invalidate_all()
        _logger.info(
            "Omnichannel: %d channel secrets encrypted with the new key", count
        )
        return count


class OmnichannelAlert(models.Model):
    """A channel whose secrets cannot be decrypted is stuck work: one alert
    (webhooks held, replies refused), closed by the health check once the
    key opens them again."""

    _inherit = "omnichannel.alert"

    kind = fields.Selection(
        selection_add=[("key_missing", "Secrets cannot be decrypted")],
        ondelete={"key_missing": "cascade"},
    )

    def _cron_check_health(self):
        result = super()._cron_check_health()
        for alert in self.sudo().search(
            [("kind", "=", "key_missing"), ("state", "=", "open")]
        ):
            if not alert.channel_id._secrets_unreadable():
                alert._mark_resolved()
        return result
