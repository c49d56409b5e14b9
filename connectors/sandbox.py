"""The Sandbox: a built-in channel that needs no external account.

Its "provider" is our own public page (/omnichannel/sandbox/<key>), where a
person types as the customer.  The page posts JSON to the channel's webhook
like any provider would, signed with the channel's secret in a header, so
Sandbox messages go through exactly the same journal and processing as
Telegram's.  Replies are not pushed anywhere: the page polls for them.

Wire format (POST, application/json)::

    {"event_id": "<unique per message>", "session": "<visitor id>",
     "name": "Anna", "phone": "+7...", "email": "a@example.com",
     "text": "Hello",
     "attachments": [{"filename": .., "mimetype": .., "data": "<base64>"}]}
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid

from .errors import PayloadError, SignatureError
from .events import Attachment, Contact, InboundMessage, SendResult
from .interface import Connector, register
from .signing import secrets_equal

SECRET_HEADER = "X-Omnichannel-Sandbox-Secret"
MAX_TEXT = 20000


@register
class SandboxConnector(Connector):
    code = "sandbox"
    label = "Sandbox"
    sequence = 10
    kind = "sandbox"
    icon = "fa-flask"
    supports_silence_alert = False
    common_settings = ("webhook_secret",)

    def verify(self, headers, body, query):
        if not secrets_equal(self.config.secret, self.header(headers, SECRET_HEADER)):
            raise SignatureError(f"wrong or missing {SECRET_HEADER} header")

    def parse(self, headers, body, query):
        data = self.load_json(body)
        if not isinstance(data, dict):
            raise PayloadError("a Sandbox message is a JSON object")
        for key in ("event_id", "session", "name", "phone", "email", "text"):
            if key in data and not isinstance(data[key], str):
                raise PayloadError(f"{key} must be a string")
        event_id, session = (
            data.get("event_id", "").strip(),
            data.get("session", "").strip(),
        )
        if not event_id or not session or len(event_id) > 100 or len(session) > 100:
            raise PayloadError(
                "event_id and session are required (at most 100 characters)"
            )
        text = data.get("text", "")
        if len(text) > MAX_TEXT:
            raise PayloadError(f"text is longer than {MAX_TEXT} characters")
        attachments = []
        raw_attachments = data.get("attachments") or []
        if not isinstance(raw_attachments, list):
            raise PayloadError("attachments must be a list")
        for raw in raw_attachments:
            if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
                raise PayloadError("each attachment is an object with base64 data")
            try:
                base64.b64decode(raw["data"], validate=True)
            except (binascii.Error, ValueError):
                raise PayloadError("attachment data is not base64") from None
            mimetype = str(raw.get("mimetype") or "application/octet-stream")
            attachments.append(
                Attachment(
                    "image" if mimetype.startswith("image/") else "document",
                    filename=str(raw.get("filename") or "file")[:200],
                    mimetype=mimetype,
                    data=raw["data"],
                )
            )
        if not text.strip() and not attachments:
            raise PayloadError("a message needs text or an attachment")
        sender = Contact(
            user_id=session,
            name=(data.get("name") or "").strip()[:200] or "Sandbox visitor",
            phone=(data.get("phone") or "").strip()[:64],
            email=(data.get("email") or "").strip()[:200],
        )
        message_type = "text"
        if attachments:
            message_type = attachments[0].kind
        return [
            InboundMessage(
                event_id=event_id,
                message_id=event_id,
                sender=sender,
                chat_id=session,
                date=time.time(),
                text=text,
                message_type=message_type,
                attachments=attachments,
            )
        ]

    def fetch_media(self, attachment):
        return (
            base64.b64decode(attachment.data),
            attachment.mimetype,
            attachment.filename,
        )

    def send(self, message):
        # Nothing leaves the server: the Sandbox page reads replies from Odoo.
        return SendResult(f"sandbox-{uuid.uuid4().hex}", "sent")
