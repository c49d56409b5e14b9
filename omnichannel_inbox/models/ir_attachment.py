import logging
import os
import secrets

from odoo import api, models

from . import omnichannel_crypto as crypto

_logger = logging.getLogger(__name__)

#: Files of these records are encrypted when their company's switch is on.
ENCRYPTED_MODELS = ("omnichannel.conversation", "omnichannel.call")
#: Encrypted files live apart from Odoo's content-addressed files (a clear
#: attachment of the same content elsewhere never shares their file), in
#: directories named ``oc-enc-<2 hex>``: Odoo's filestore garbage collector
#: only knows names of the form ``<directory>/<file>``.
ENCRYPTED_DIR = "oc-enc-"


class IrAttachment(models.Model):
    """Files of conversations and call recordings encrypted in the filestore.

    Odoo computes checksum, size and index from the clear content and writes
    the clear file; right after, the file is encrypted (omnichannel_crypto,
    same key as the secrets) under ``oc-enc-*/`` and the clear copy is
    handed to Odoo's filestore garbage collector (it removes it unless
    another attachment uses the same content).  Reading decrypts by the file
    name, so ``raw``/``datas`` and /web/content serve clear bytes to whoever
    Odoo's access rules let read the attachment."""

    _inherit = "ir.attachment"

    @api.model
    def _file_read(self, fname, size=None):
        if not (fname or "").startswith(ENCRYPTED_DIR):
            return super()._file_read(fname, size)
        data = super()._file_read(fname)
        if not data:
            return data
        clear = crypto.decrypt_bytes(data)
        return clear[:size] if size is not None else clear

    def _to_http_stream(self):
        stream = super()._to_http_stream()
        if (self.store_fname or "").startswith(ENCRYPTED_DIR):
            # The file on disk is ciphertext: serve the decrypted bytes.
            stream.type = "data"
            stream.path = None
            stream.data = self.raw
            stream.size = len(stream.data)
        return stream

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._omnichannel_encrypt_files()
        return records

    def write(self, vals):
        result = super().write(vals)
        if "res_model" in vals:
            # a file attached to a conversation after its upload (composer)
            self._omnichannel_encrypt_files()
        return result

    def _set_attachment_data(self, asbytes):
        super()._set_attachment_data(asbytes)
        self._omnichannel_encrypt_files()

    def _omnichannel_to_encrypt(self):
        return self.sudo().filtered(
            lambda a: (
                a.type == "binary"
                and a.store_fname
                and not a.store_fname.startswith(ENCRYPTED_DIR)
                and a.res_model in ENCRYPTED_MODELS
                and (a.company_id or self.env.company).omnichannel_encrypt_files
            )
        )

    def _omnichannel_encrypt_files(self):
        """Encrypt the clear filestore files of these attachments that
        should be encrypted; return how many were."""
        todo = self._omnichannel_to_encrypt()
        for attachment in todo:
            attachment._omnichannel_store_encrypted(
                super(IrAttachment, attachment)._file_read(attachment.store_fname)
            )
        return len(todo)

    def _omnichannel_store_encrypted(self, clear, keys=None):
        """Write ``clear`` encrypted under a new name, point the attachment
        to it, and leave the previous file to the garbage collector."""
        self.ensure_one()
        old_fname = self.store_fname
        fname = (
            f"{ENCRYPTED_DIR}{self.checksum[:2]}/{self.checksum}-{secrets.token_hex(8)}"
        )
        full_path = self._full_path(fname)
        # the new name is marked too: removed if this transaction rolls back
        self._mark_for_gc(fname)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        with open(full_path, "wb") as fp:
            fp.write(crypto.encrypt_bytes(clear, keys))
        # the stored column only: the clear checksum and size stay as they are
        self.env.cr.execute(
            "UPDATE ir_attachment SET store_fname = %s WHERE id = %s", [fname, self.id]
        )
        self.invalidate_recordset(["store_fname", "raw", "datas"])
        self._file_delete(old_fname)

    @api.model
    def _omnichannel_encrypt_existing_files(self):
        """One-off: encrypt the files of conversations and calls already in
        the filestore, for the companies whose switch is on."""
        companies = (
            self.env["res.company"]
            .sudo()
            .search([("omnichannel_encrypt_files", "=", True)])
        )
        if not companies:
            return 0
        crypto.fernet()  # no key: stop before anything is touched
        attachments = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("res_model", "in", ENCRYPTED_MODELS),
                    ("type", "=", "binary"),
                    ("store_fname", "!=", False),
                    ("store_fname", "not like", ENCRYPTED_DIR + "%"),
                ]
            )
        )
        count = attachments._omnichannel_encrypt_files()
        _logger.info("Omnichannel: %d existing files encrypted", count)
        return count

    @api.model
    def _omnichannel_reencrypt_files(self, read_keys, write_keys):
        """Key rotation: every encrypted file opened with ``read_keys`` and
        written again with ``write_keys``."""
        attachments = (
            self.sudo()
            .with_context(active_test=False)
            .search([("store_fname", "=like", ENCRYPTED_DIR + "%")])
        )
        for attachment in attachments:
            data = super(IrAttachment, attachment)._file_read(attachment.store_fname)
            attachment._omnichannel_store_encrypted(
                crypto.decrypt_bytes(data, read_keys), write_keys
            )
        return len(attachments)
