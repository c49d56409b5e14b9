"""WhatsApp Business Cloud API.

Inbound: Meta POSTs ``{"object": "whatsapp_business_account", "entry": [{"id":
<WABA id>, "changes": [{"field": "messages", "value": {"metadata":
{"phone_number_id": ..}, "contacts": [..], "messages": [..], "statuses":
[..]}}]}]}``, signed as every Meta webhook (see :mod:`.meta`).  A sender's
``wa_id`` is their phone number: it becomes the identity's phone, so the same
person on SMS or Viber is the same customer.
Outbound: ``POST /<phone number id>/messages``; files are first uploaded with
``POST /<phone number id>/media``; media we receive is fetched with
``GET /<media id>`` (a short-lived URL) and a GET of that URL, both with the token.
"""

from __future__ import annotations

import mimetypes
import re

from .errors import ConnectorError, PayloadError, SendError
from .events import (
    Attachment,
    Contact,
    DeliveryStatus,
    InboundMessage,
    Location,
    MessageRevoked,
    SendResult,
)
from .interface import register
from .meta import MetaConnector, _lt, referral_utm
from .validation import provider_id

STATUSES = ("sent", "delivered", "read", "failed")
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
#: What WhatsApp accepts as each media type; any other file goes as a document.
SEND_AS = {
    "image/jpeg": "image",
    "image/png": "image",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
}
CAPTION_MAX = 1024
VARIABLE = re.compile(r"{{\s*([A-Za-z0-9_]+)\s*}}")


@register
class WhatsAppConnector(MetaConnector):
    code = "whatsapp"
    label = "WhatsApp"
    sequence = 30
    icon = "fa-whatsapp"
    color = "#25D366"
    deep_link = "https://wa.me/%s"
    handle_format = "digits"
    user_ids_are_global = (
        True  # a wa_id is a phone number, whichever business number it writes to
    )
    webhook_object = "whatsapp_business_account"
    # developers.facebook.com/docs/whatsapp/throughput: 80 messages per second
    # per business phone number by default (up to 1,000 when Meta upgrades it)
    send_rate = 80

    # -- inbound ----------------------------------------------------------------
    def parse(self, headers, body, query):
        events = []
        for entry in self.load_entries(body):
            changes = entry.get("changes")
            if not isinstance(changes, list):
                raise PayloadError("entry.changes must be a list")
            for change in changes:
                if not isinstance(change, dict) or not isinstance(
                    change.get("value"), dict
                ):
                    raise PayloadError("each change is an object with a value object")
                if change.get("field") != "messages":
                    events.append(
                        self.ignored(
                            change,
                            "webhook field {} is not handled".format(
                                change.get("field")
                            ),
                        )
                    )
                    continue
                events.extend(self._parse_value(change["value"]))
        return events

    def _parse_value(self, value):
        metadata = value.get("metadata") or {}
        account = provider_id(
            metadata.get("phone_number_id") or "", "metadata.phone_number_id"
        )
        names = {}
        for contact in value.get("contacts") or []:
            if not isinstance(contact, dict):
                continue
            profile = (
                contact.get("profile")
                if isinstance(contact.get("profile"), dict)
                else {}
            )
            name = (
                (profile.get("name") or "").strip()
                if isinstance(profile.get("name"), str)
                else ""
            )
            # A contact is named by its phone (wa_id) and, since usernames,
            # by its business-scoped user id; either may be missing.
            for key in ("wa_id", "user_id"):
                if contact.get(key):
                    names[provider_id(contact[key], f"contacts.{key}")] = name
        events = []
        for message in value.get("messages") or []:
            events.append(self._message_event(message, names, account))
        for status in value.get("statuses") or []:
            events.append(self._status_event(status, account))
        for error in value.get("errors") or []:
            events.append(
                self.ignored(
                    error,
                    f"WhatsApp reported an error: {self._error_text(error)}",
                    account,
                )
            )
        return events

    @staticmethod
    def _error_text(error):
        if not isinstance(error, dict):
            return str(error)
        text = error.get("title") or error.get("message") or ""
        details = (
            (error.get("error_data") or {}).get("details")
            if isinstance(error.get("error_data"), dict)
            else ""
        )
        if details and details not in text:
            text = f"{text}: {details}" if text else details
        return text or "unknown error"

    def _message_event(self, msg, names, account):
        # A person who hides their number behind a username is known only by
        # their business-scoped user id (from_user_id, "US.1349..."), which
        # then is their identity on this channel and where replies go.
        if (
            not isinstance(msg, dict)
            or not msg.get("id")
            or not (msg.get("from") or msg.get("from_user_id"))
        ):
            raise PayloadError("a WhatsApp message needs an id and a sender")
        wa_id = provider_id(msg.get("from") or msg["from_user_id"], "message.from")
        kind = msg.get("type") or "unknown"
        if kind == "system":
            system = msg.get("system") or {}
            return self.ignored(
                msg,
                "system message: %s" % (system.get("body") or system.get("type") or ""),
                account,
            )
        phone = f"+{wa_id}" if wa_id.isdigit() else ""
        user_id = provider_id(msg.get("from_user_id") or "", "message.from_user_id")
        # The wa_id is the sender's phone number, as WhatsApp vouches for it
        # (a person hiding their number has a business-scoped id and no phone).
        sender = Contact(
            user_id=wa_id,
            name=names.get(wa_id) or names.get(user_id) or phone or wa_id,
            phone=phone,
            phone_verified=bool(phone),
        )
        try:
            date = float(msg.get("timestamp") or 0)
        except (TypeError, ValueError):
            raise PayloadError("timestamp must be a number") from None
        message_id = provider_id(msg["id"], "message.id")
        if msg.get("group_id"):
            # A group is not one customer (anyone in it writes, everyone reads
            # a reply): journaled, not made into a conversation and a lead.
            return self.ignored(
                msg,
                "message in a WhatsApp group ({}): only one-to-one chats are customer "
                "conversations".format(provider_id(msg["group_id"], "group_id")),
                account,
            )
        if kind == "revoke":
            original = (
                (msg.get("revoke") or {}).get("original_message_id")
                if isinstance(msg.get("revoke"), dict)
                else None
            )
            if not original:
                raise PayloadError("a revoke names the original message")
            return MessageRevoked(
                event_id=message_id,
                message_id=provider_id(original, "original_message_id"),
                sender=sender,
                date=date,
                account_ref=account,
            )
        is_edit = False
        if kind == "edit":
            # The new content of an earlier message, under that message's id.
            edit = msg.get("edit") if isinstance(msg.get("edit"), dict) else {}
            if not edit.get("original_message_id") or not isinstance(
                edit.get("message"), dict
            ):
                raise PayloadError(
                    "an edit names the original message and holds its new content"
                )
            msg = dict(edit["message"], context=msg.get("context") or {})
            kind, is_edit = msg.get("type") or "text", True
        event = InboundMessage(
            event_id=message_id,
            message_id=message_id,
            sender=sender,
            chat_id=wa_id,
            date=date,
            account_ref=account,
        )
        if is_edit:
            event.message_id = provider_id(
                edit["original_message_id"], "original_message_id"
            )
            event.is_edit = True
        notes = self._read_content(event, kind, msg, message_id)
        context = msg.get("context") or {}
        if context.get("forwarded") or context.get("frequently_forwarded"):
            notes.append(_lt("Forwarded"))
        referral = msg.get("referral") or {}
        if referral:
            notes.append(_lt("Came from an ad"))
            # Click-to-WhatsApp ad: the lead's source, medium and campaign.
            event.utm_source, event.utm_medium, event.utm_campaign, _description = (
                referral_utm(referral)
            )
            ad = " ".join(
                p for p in (referral.get("headline"), referral.get("source_url")) if p
            )
            if ad:
                event.text = f"{event.text}\n{ad}" if event.text else ad
        event.note = "\n".join(notes)
        return event

    def _read_content(self, event, kind, msg, message_id):
        """Fill ``event`` from the content of a message of type ``kind``;
        return the notes that describe it."""
        content = msg.get(kind) if isinstance(msg.get(kind), (dict, list)) else {}
        if kind == "text":
            event.text = content.get("body") or ""
        elif kind in MEDIA_TYPES:
            self._media(event, kind, content, message_id)
        elif kind == "location":
            self._location(event, content)
        elif kind == "contacts":
            self._contacts(event, content if isinstance(content, list) else [])
        elif kind == "interactive":
            return [self._interactive(event, content)]
        elif kind == "button":
            event.text = content.get("text") or content.get("payload") or ""
            return [_lt("Template button reply")]
        elif kind == "reaction":
            event.text = content.get("emoji") or ""
            return [
                _lt("Reaction to an earlier message")
                if event.text
                else _lt("Reaction removed")
            ]
        elif kind == "order":
            event.text = self._order_text(content)
            return [_lt("Catalog order")]
        else:
            errors = msg.get("errors") or []
            event.text = self._error_text(errors[0]) if errors else ""
            return [
                _lt(
                    "This kind of WhatsApp message cannot be shown here; "
                    "open WhatsApp to see it."
                )
            ]
        return []

    @staticmethod
    def _location(event, content):
        event.message_type = "location"
        try:
            event.location = Location(
                float(content["latitude"]),
                float(content["longitude"]),
                content.get("name") or content.get("address") or "",
            )
        except (KeyError, TypeError, ValueError):
            raise PayloadError("a location needs a latitude and a longitude") from None
        if content.get("name") and content.get("address"):
            event.text = content["address"]

    @staticmethod
    def _interactive(event, content):
        """A reply to our buttons, list or form: its text; returns its note."""
        reply = content.get(content.get("type")) or {}
        if content.get("type") == "list_reply":
            event.text = " - ".join(
                p for p in (reply.get("title"), reply.get("description")) if p
            )
            return _lt("List reply")
        if content.get("type") == "nfm_reply":
            event.text = reply.get("body") or reply.get("response_json") or ""
            return _lt("Form reply")
        event.text = reply.get("title") or ""
        return _lt("Button reply")

    @staticmethod
    def _order_text(content):
        items = content.get("product_items") or []
        text = "\n".join(
            "{} x {} ({} {})".format(
                i.get("quantity"),
                i.get("product_retailer_id"),
                i.get("item_price"),
                i.get("currency"),
            )
            for i in items
            if isinstance(i, dict)
        )
        if content.get("text"):
            text = "{}\n{}".format(content["text"], text)
        return text

    @staticmethod
    def _media(event, kind, content, message_id):
        if not content.get("id"):
            raise PayloadError("a media message needs a media id")
        mimetype = (content.get("mime_type") or "").split(";")[0].strip()
        if kind == "audio" and content.get("voice"):
            kind = "voice"
        filename = content.get("filename") or "{}_{}{}".format(
            kind,
            str(message_id)[-12:].replace("=", ""),
            mimetypes.guess_extension(mimetype or "") or "",
        )
        event.message_type = kind
        event.text = content.get("caption") or ""
        event.attachments.append(
            Attachment(
                kind,
                file_id=provider_id(content["id"], "media id"),
                filename=filename,
                mimetype=mimetype or "application/octet-stream",
            )
        )

    @staticmethod
    def _contacts(event, cards):
        event.message_type = "contact"
        lines = []
        for card in cards:
            if not isinstance(card, dict):
                continue
            name = (card.get("name") or {}).get("formatted_name") or ""
            phones = [
                p
                for p in card.get("phones") or []
                if isinstance(p, dict) and p.get("phone")
            ]
            emails = [
                e.get("email")
                for e in card.get("emails") or []
                if isinstance(e, dict) and e.get("email")
            ]
            lines.append(
                ", ".join(
                    p for p in [name] + [p["phone"] for p in phones] + emails if p
                )
            )
            if event.shared_contact is None and (phones or emails):
                card_id = (
                    provider_id(phones[0].get("wa_id") or "", "wa_id") if phones else ""
                )
                # Only the sender's own card carries a phone WhatsApp vouches for.
                event.shared_contact = Contact(
                    user_id=card_id,
                    name=name,
                    phone=phones[0]["phone"] if phones else "",
                    email=emails[0] if emails else "",
                    phone_verified=bool(card_id) and card_id == event.sender.user_id,
                )
        # The first card is the shared contact (shown by the conversation);
        # the others, when several were sent at once, are listed as text.
        event.text = "\n".join(lines[1:]) if event.shared_contact else "\n".join(lines)

    def _status_event(self, status, account):
        if (
            not isinstance(status, dict)
            or not status.get("id")
            or status.get("status") not in STATUSES
        ):
            return self.ignored(
                status,
                "status %r is not handled"
                % (status.get("status") if isinstance(status, dict) else status),
                account,
            )
        errors = status.get("errors") or []
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        try:
            date = float(status.get("timestamp") or 0)
        except (TypeError, ValueError):
            date = 0.0
        message_id = provider_id(status["id"], "status.id")
        return DeliveryStatus(
            event_id="status:{}:{}".format(message_id, status["status"]),
            message_id=message_id,
            status=status["status"],
            date=date,
            error_code=str(error.get("code") or "") if error else "",
            error_text=self._error_text(error) if error else "",
            recipient_id=provider_id(
                status.get("recipient_id") or "", "status.recipient_id"
            ),
            account_ref=account,
        )

    def fetch_media(self, attachment):
        info = self.graph("GET", self.graph_node(attachment.file_id))
        if not info.get("url"):
            raise ConnectorError(
                f"Meta gave no download address for media {attachment.file_id}"
            )
        data, content_type = self.download_media(info["url"], with_token=True)
        mimetype = (
            attachment.mimetype
            if attachment.mimetype != "application/octet-stream"
            else ""
        )
        return (
            data,
            mimetype
            or info.get("mime_type")
            or content_type
            or "application/octet-stream",
            attachment.filename,
        )

    # -- outbound ---------------------------------------------------------------
    def _post_message(self, to, kind, content):
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": kind,
            kind: content,
        }
        # A phone number goes in "to"; a business-scoped user id (a person
        # whose number is hidden, "US.1349...") in "recipient".
        body["to" if to.lstrip("+").isdigit() else "recipient"] = to
        answer = self.graph(
            "POST", f"{self._phone_number_id()}/messages", json_body=body
        )
        messages = answer.get("messages") or []
        if not messages or not messages[0].get("id"):
            raise SendError(
                "Meta accepted the message but gave no message id.", code="bad_answer"
            )
        return messages[0]["id"]

    def _phone_number_id(self):
        if not self.config.account_ref:
            raise SendError(
                "The phone number ID is not set on this channel.", code="no_account"
            )
        return self.config.account_ref

    def upload_media(self, attachment):
        answer = self.graph(
            "POST",
            f"{self._phone_number_id()}/media",
            data={"messaging_product": "whatsapp", "type": attachment.mimetype},
            files={"file": (attachment.filename, attachment.data, attachment.mimetype)},
        )
        if not answer.get("id"):
            raise SendError(
                "Meta accepted the upload but gave no media id.", code="bad_answer"
            )
        return answer["id"]

    def send(self, message):
        to = message.recipient_id
        if message.template:
            return SendResult(self._post_message(to, "template", message.template))
        last = None
        text = message.text or ""
        for att in message.attachments:
            mimetype = att.mimetype or "application/octet-stream"
            kind = SEND_AS.get(mimetype, "document")
            content = {"id": self.upload_media(att)}
            if kind == "document":
                content["filename"] = att.filename
            if text and kind != "audio" and len(text) <= CAPTION_MAX:
                content["caption"], text = text, ""
            last = self._post_message(to, kind, content)
        if text:
            last = self._post_message(to, "text", {"preview_url": False, "body": text})
        if last is None:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        return SendResult(last, "sent")

    # -- templates ----------------------------------------------------------------
    def list_templates(self):
        """The message templates of the WhatsApp Business Account, each as
        {id, name, language, status, category, parameter_format, header,
        header_format, body, footer, variables: [(component, key)],
        unsupported: why it cannot be sent from here or ''}."""
        waba = self.config.extra.get("waba_id")
        if not waba:
            raise ConnectorError(
                "the WhatsApp Business Account ID is not set on this channel"
            )
        templates, url, params = (
            [],
            f"{waba}/message_templates",
            {
                "fields": "id,name,language,status,category,"
                "parameter_format,components",
                "limit": 100,
            },
        )
        for _page in range(50):
            answer = self.graph("GET", url, params=params)
            templates.extend(
                self._template(t)
                for t in answer.get("data") or []
                if isinstance(t, dict)
            )
            url, params = (answer.get("paging") or {}).get("next"), None
            if not url:
                break
        return templates

    @staticmethod
    def _template(raw):
        result = {
            "id": str(raw.get("id") or ""),
            "name": raw.get("name") or "",
            "language": raw.get("language") or "",
            "status": (raw.get("status") or "").lower(),
            "category": (raw.get("category") or "").lower(),
            "parameter_format": (raw.get("parameter_format") or "POSITIONAL").lower(),
            "header": "",
            "header_format": "",
            "body": "",
            "footer": "",
            "variables": [],
            "unsupported": "",
        }
        for component in raw.get("components") or []:
            ctype = (component.get("type") or "").upper()
            if ctype == "HEADER":
                result["header_format"] = (component.get("format") or "TEXT").lower()
                result["header"] = component.get("text") or ""
                if result["header_format"] != "text":
                    result["unsupported"] = "its header is a {}".format(
                        result["header_format"]
                    )
            elif ctype == "BODY":
                result["body"] = component.get("text") or ""
            elif ctype == "FOOTER":
                result["footer"] = component.get("text") or ""
            elif ctype == "BUTTONS":
                for button in component.get("buttons") or []:
                    if VARIABLE.search(button.get("url") or "") or button.get(
                        "type"
                    ) in ("OTP", "COPY_CODE", "FLOW"):
                        result["unsupported"] = "a button needs a value"
        for component in ("header", "body"):
            for key in VARIABLE.findall(result[component]):
                if (component, key) not in result["variables"]:
                    result["variables"].append((component, key))
        return result

    @staticmethod
    def template_payload(name, language, parameter_format, values):
        """The ``template`` object of a message; ``values``: [(component,
        key, text)] in the template's order."""
        components = []
        for component in ("header", "body"):
            parameters = []
            for comp, key, text in values:
                if comp != component:
                    continue
                parameter = {"type": "text", "text": text}
                if parameter_format == "named":
                    parameter["parameter_name"] = key
                parameters.append(parameter)
            if parameters:
                components.append({"type": component, "parameters": parameters})
        payload = {"name": name, "language": {"code": language}}
        if components:
            payload["components"] = components
        return payload

    # -- administration -------------------------------------------------------------
    def register_webhook(self):
        """Point this number's webhooks at this channel (Meta's phone-number
        callback override, verified by Meta with our handshake at once), after
        subscribing the app to the WhatsApp Business Account."""
        if not self.config.verify_token:
            raise ConnectorError("the channel has no verify token")
        waba = self.config.extra.get("waba_id")
        if waba:
            self.graph("POST", f"{waba}/subscribed_apps")
        self.graph(
            "POST",
            self._phone_number_id(),
            json_body={
                "webhook_configuration": {
                    "override_callback_uri": self.config.webhook_url,
                    "verify_token": self.config.verify_token,
                }
            },
        )
        return self.config.webhook_url

    def webhook_info(self):
        info = self.account_info(
            "id,display_phone_number,verified_name,quality_rating,"
            "code_verification_status,webhook_configuration"
        )
        hooks = info.get("webhook_configuration") or {}
        url = (
            hooks.get("phone_number")
            or hooks.get("whatsapp_business_account")
            or hooks.get("application")
            or ""
        )
        return {
            "account": "{} ({})".format(
                info.get("verified_name") or "?",
                info.get("display_phone_number") or info.get("id"),
            ),
            "details": {
                "quality_rating": info.get("quality_rating") or "",
                "code_verification_status": info.get("code_verification_status") or "",
            },
            "url": url,
            "matches": bool(url) and url == self.config.webhook_url,
        }
