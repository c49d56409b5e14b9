"""Files of a chat panel reply, as the panel uploads them."""


def pending_uploads(env, *files):
    """``files``: (name, bytes) pairs, created as mail's upload route
    (``/mail/attachment/upload`` with ``is_pending``, which the chat panel
    uses through mail's attachment upload service) creates them for the
    user of ``env``: no record yet, the mimetype guessed from the name."""
    return (
        env["ir.attachment"]
        .sudo()
        .create(
            [
                {
                    "name": name,
                    "raw": data,
                    "res_model": "mail.compose.message",
                    "res_id": 0,
                }
                for name, data in files
            ]
        )
    )
