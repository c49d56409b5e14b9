"""Facebook Messenger and Instagram Direct (the Messenger Platform).

Both POST ``{"object": "page"|"instagram", "entry": [{"id": <page or
Instagram account id>, "time": .., "messaging": [{"sender": {"id": <PSID or
IGSID>}, "recipient": {"id": ..}, "timestamp": <ms>, "message"|"delivery"|
"read"|"postback"|"reaction"|"message_edit": {..}}]}]}``, signed and verified
as every Meta webhook (:mod:`.meta`).  Sender ids are scoped to the page (or
Instagram account): the same person writing to two pages has two ids, so
identities of these channels are not global.
Outbound: ``POST /me/messages`` with the page (or Instagram) token,
``messaging_type: RESPONSE`` - or ``MESSAGE_TAG`` + ``HUMAN_AGENT`` when the
channel is allowed to answer up to 7 days after the customer's last message.
Files are uploaded with the message (multipart ``filedata``).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import ClassVar

from .errors import ConnectorError, PayloadError, SendError
from .events import (
    Attachment,
    Contact,
    DeliveryStatus,
    IgnoredEvent,
    InboundMessage,
    Location,
    MessageRevoked,
    Referral,
    SendResult,
    register_event_class,
)
from .interface import register
from .meta import MetaConnector, _lt, event_id_of, referral_utm
from .validation import provider_id

DOWNLOADED = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "document",
    "story_mention": "image",
}
SHARED = ("share", "ig_reel", "reel", "ig_post", "fallback", "template")


@register_event_class
@dataclass
class StatusWatermark:
    """Messenger reports "delivered"/"read" as a watermark: every message
    sent to ``recipient_id`` before ``watermark`` (epoch seconds) reached
    that state."""

    event_id: str
    recipient_id: str
    status: str
    watermark: float
    account_ref: str = ""

    kind: ClassVar[str] = "status_watermark"


class MessagingPlatformConnector(MetaConnector):
    """What Messenger and Instagram share; each subclass is one channel type."""

    sends_referrals = True
    subscribed_fields = ""
    profile_fields = ""
    account_fields = ""

    # -- inbound ------------------------------------------------------------
    def parse(self, headers, body, query):
        events = []
        for entry in self.load_entries(body):
            account = provider_id(entry.get("id") or "", "entry.id")
            items = entry.get("messaging")
            if items is None:
                # Comments, mentions in posts, standby (handover) events...
                events.append(
                    self.ignored(
                        entry,
                        "entry without messaging ({})".format(
                            ", ".join(
                                sorted(k for k in entry if k not in ("id", "time"))
                            )
                        ),
                        account,
                    )
                )
                continue
            if not isinstance(items, list):
                raise PayloadError("entry.messaging must be a list")
            for item in items:
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("sender"), dict)
                    or not item["sender"].get("id")
                ):
                    raise PayloadError("each messaging item has a sender id")
                events.extend(self._item_events(item, account))
        return events

    @staticmethod
    def _seconds(milliseconds):
        try:
            return float(milliseconds or 0) / 1000.0
        except (TypeError, ValueError):
            raise PayloadError("timestamp must be a number") from None

    def _item_events(self, item, account):
        sender_id = provider_id(item["sender"]["id"], "sender.id")
        date = self._seconds(item.get("timestamp"))
        message = item.get("message")
        if isinstance(message, dict):
            if message.get("is_echo"):
                return [
                    self.ignored(item, "echo of a message sent from the page", account)
                ]
            if message.get("is_deleted"):
                if not message.get("mid"):
                    return [
                        self.ignored(item, "the customer deleted a message", account)
                    ]
                mid = provider_id(message["mid"], "message.mid")
                return [
                    MessageRevoked(
                        event_id=f"deleted:{mid}",
                        message_id=mid,
                        sender=Contact(user_id=sender_id),
                        date=date,
                        account_ref=account,
                    )
                ]
            return [self._message_event(item, message, sender_id, date, account)]
        if isinstance(item.get("message_edit"), dict):
            edit = item["message_edit"]
            if not edit.get("mid"):
                raise PayloadError("message_edit needs a mid")
            mid = provider_id(edit["mid"], "message_edit.mid")
            event_id = "edit:{}:{}".format(
                mid, edit.get("num_edit") or event_id_of(edit)
            )
            if not isinstance(edit.get("text"), str) or not edit["text"].strip():
                # Instagram reports edits of what has no text (num_edit 0,
                # no text): the original is kept as it is.
                return [
                    IgnoredEvent(
                        event_id,
                        reason="edit without a new text: the original message is kept",
                        account_ref=account,
                    )
                ]
            return [
                InboundMessage(
                    event_id=event_id,
                    message_id=mid,
                    sender=Contact(user_id=sender_id),
                    chat_id=sender_id,
                    date=date,
                    text=edit["text"],
                    is_edit=True,
                    account_ref=account,
                )
            ]
        if isinstance(item.get("referral"), dict) or isinstance(
            item.get("optin"), dict
        ):
            return [self._referral_event(item, sender_id, date, account)]
        if isinstance(item.get("delivery"), dict):
            delivery = item["delivery"]
            # Delivery and read reports travel from the customer to us: the
            # customer is the sender of the report.
            if delivery.get("mids"):
                return [
                    DeliveryStatus(
                        event_id=f"delivered:{mid}",
                        message_id=provider_id(mid, "delivery.mids"),
                        status="delivered",
                        date=self._seconds(delivery.get("watermark")),
                        recipient_id=sender_id,
                        account_ref=account,
                    )
                    for mid in delivery["mids"]
                ]
            return [
                self._watermark(
                    sender_id, "delivered", delivery.get("watermark"), account
                )
            ]
        if isinstance(item.get("read"), dict):
            read = item["read"]
            if read.get("mid"):  # Instagram names the message read
                mid = provider_id(read["mid"], "read.mid")
                return [
                    DeliveryStatus(
                        event_id=f"read:{mid}",
                        message_id=mid,
                        status="read",
                        date=date,
                        recipient_id=sender_id,
                        account_ref=account,
                    )
                ]
            return [self._watermark(sender_id, "read", read.get("watermark"), account)]
        if isinstance(item.get("postback"), dict):
            postback = item["postback"]
            mid = provider_id(
                postback.get("mid") or f"postback:{event_id_of(item)}",
                "postback.mid",
            )
            event = InboundMessage(
                event_id=mid,
                message_id=mid,
                sender=Contact(user_id=sender_id),
                chat_id=sender_id,
                date=date,
                text=postback.get("title") or postback.get("payload") or "",
                note=_lt("Button pressed"),
                account_ref=account,
            )
            # "Get started" pressed after an ad or an m.me link.
            event.utm_source, event.utm_medium, event.utm_campaign, _description = (
                referral_utm(postback.get("referral"))
            )
            return [event]
        if isinstance(item.get("reaction"), dict):
            reaction = item["reaction"]
            key = f"reaction:{event_id_of(item)}"
            emoji = reaction.get("emoji") or reaction.get("reaction") or ""
            removed = reaction.get("action") == "unreact"
            return [
                InboundMessage(
                    event_id=key,
                    message_id=key,
                    sender=Contact(user_id=sender_id),
                    chat_id=sender_id,
                    date=date,
                    text="" if removed else emoji,
                    account_ref=account,
                    note=_lt("Reaction removed")
                    if removed
                    else _lt("Reaction to an earlier message"),
                )
            ]
        kinds = sorted(k for k in item if k not in ("sender", "recipient", "timestamp"))
        return [
            self.ignored(
                item,
                "event of kind %s is not handled" % (", ".join(kinds) or "unknown"),
                account,
            )
        ]

    def _referral_event(self, item, sender_id, date, account):
        """A customer who came through an ad or an m.me link into an
        existing thread (``referral``), or who opted in to messages
        (``optin``: checkbox plugin, recurring notifications)."""
        if isinstance(item.get("referral"), dict):
            source, medium, campaign, description = referral_utm(item["referral"])
            note = _lt("Came from an ad or a link")
        else:
            optin = item["optin"]
            source, medium, campaign, description = referral_utm(
                {"ref": optin.get("ref") or ""}
            )
            title = optin.get("title") if isinstance(optin.get("title"), str) else ""
            medium, campaign = medium or "Opt-in", campaign or title[:100]
            note = _lt("Opted in to messages")
        return Referral(
            event_id=f"referral:{event_id_of(item)}",
            sender=Contact(user_id=sender_id),
            date=date,
            utm_source=source,
            utm_medium=medium,
            utm_campaign=campaign,
            note="\n".join(p for p in (note, description) if p),
            account_ref=account,
        )

    def _watermark(self, sender_id, status, watermark, account):
        seconds = self._seconds(watermark)
        return StatusWatermark(
            event_id=f"{status}:{sender_id}:{watermark}",
            recipient_id=sender_id,
            status=status,
            watermark=seconds,
            account_ref=account,
        )

    def _message_event(self, item, message, sender_id, date, account):
        if not message.get("mid"):
            raise PayloadError("a message needs a mid")
        mid = provider_id(message["mid"], "message.mid")
        event = InboundMessage(
            event_id=mid,
            message_id=mid,
            sender=Contact(user_id=sender_id),
            chat_id=sender_id,
            date=date,
            text=message.get("text") or "",
            account_ref=account,
        )
        notes, links = [], []
        if isinstance(message.get("referral"), dict):
            # Click-to-Messenger / Instagram ad: the lead's source, medium and campaign.
            event.utm_source, event.utm_medium, event.utm_campaign, _description = (
                referral_utm(message["referral"])
            )
            notes.append(_lt("Came from an ad or a link"))
        if message.get("quick_reply"):
            notes.append(_lt("Quick reply"))
        story = (message.get("reply_to") or {}).get("story")
        if isinstance(story, dict):
            notes.append(_lt("Reply to your story"))
            if story.get("url"):
                links.append(story["url"])
        attachments = message.get("attachments") or []
        if not isinstance(attachments, list):
            raise PayloadError("message.attachments must be a list")
        for index, raw in enumerate(attachments, start=1):
            if not isinstance(raw, dict):
                raise PayloadError("each attachment is an object")
            kind = raw.get("type") or ""
            payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {}
            if kind == "story_mention":
                notes.append(_lt("Mentioned you in their story"))
            if kind in DOWNLOADED and payload.get("url"):
                ours = DOWNLOADED[kind]
                if kind == "image" and payload.get("sticker_id"):
                    ours = "sticker"
                path = urllib.parse.urlsplit(payload["url"]).path
                filename = os.path.basename(path) or f"{ours}_{index}"
                event.attachments.append(
                    Attachment(ours, url=payload["url"], filename=filename[:120])
                )
                if event.message_type == "text":
                    event.message_type = ours
            elif kind == "location" and isinstance(payload.get("coordinates"), dict):
                coordinates = payload["coordinates"]
                event.message_type = "location"
                event.location = Location(
                    float(coordinates.get("lat") or 0),
                    float(coordinates.get("long") or 0),
                    raw.get("title") or "",
                )
            elif kind in SHARED:
                notes.append(_lt("Shared a post or a link"))
                links.append(
                    " ".join(
                        p
                        for p in (
                            payload.get("title") or raw.get("title"),
                            payload.get("url") or raw.get("url"),
                        )
                        if p
                    )
                )
            else:
                notes.append(
                    _lt(
                        "An attachment of a kind that cannot be shown here; "
                        "open the app to see it."
                    )
                )
        links = [link for link in links if link]
        if links:
            event.text = "\n".join([event.text] + links if event.text else links)
        event.note = "\n".join(dict.fromkeys(notes))
        return event

    def fetch_media(self, attachment):
        if not attachment.url:
            raise ConnectorError("the attachment has no address")
        data, content_type = self.download_media(attachment.url)
        return data, content_type or "application/octet-stream", attachment.filename

    def fetch_profile(self, user_id):
        try:
            info = self.graph(
                "GET", self.graph_node(user_id), params={"fields": self.profile_fields}
            )
        except ConnectorError:
            return (
                None  # not allowed (missing permission) or gone: the id stays the name
            )
        name = info.get("name") or " ".join(
            p for p in (info.get("first_name"), info.get("last_name")) if p
        )
        if not name and not info.get("username"):
            return None
        return Contact(
            user_id=user_id,
            name=name or info.get("username"),
            username=info.get("username") or "",
        )

    # -- outbound ---------------------------------------------------------------
    def _messaging(self, message):
        if message.tag:
            return {"messaging_type": "MESSAGE_TAG", "tag": message.tag}
        return {"messaging_type": "RESPONSE"}

    def send(self, message):
        recipient = {"id": message.recipient_id}
        last = None
        for att in message.attachments:
            mimetype = att.mimetype or "application/octet-stream"
            kind = (
                mimetype.split("/")[0]
                if mimetype.split("/")[0] in ("image", "video", "audio")
                else "file"
            )
            fields = dict(
                self._messaging(message),
                recipient=json.dumps(recipient),
                message=json.dumps(
                    {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
                ),
            )
            last = self._message_id(
                self.graph(
                    "POST",
                    "me/messages",
                    data=fields,
                    files={"filedata": (att.filename, att.data, mimetype)},
                )
            )
        if message.text:
            body = dict(
                self._messaging(message),
                recipient=recipient,
                message={"text": message.text},
            )
            last = self._message_id(self.graph("POST", "me/messages", json_body=body))
        if last is None:
            raise SendError(
                "Nothing to send: the message has no text and no attachment."
            )
        return SendResult(last, "sent")

    @staticmethod
    def _message_id(answer):
        if not answer.get("message_id"):
            raise SendError(
                "Meta accepted the message but gave no message id.", code="bad_answer"
            )
        return answer["message_id"]

    # -- administration -------------------------------------------------------------
    def register_webhook(self):
        """Subscribe the app to this page's (Instagram account's) messaging
        events; the callback URL and verify token themselves are set once in
        the Meta app dashboard."""
        self.graph(
            "POST",
            "me/subscribed_apps",
            params={"subscribed_fields": self.subscribed_fields},
        )
        return self.config.webhook_url

    def webhook_info(self):
        info = self.account_info(self.account_fields)
        subscribed = set()
        for app in self.graph("GET", "me/subscribed_apps").get("data") or []:
            subscribed.update(app.get("subscribed_fields") or [])
        name = info.get("name") or info.get("username") or "?"
        if info.get("username"):
            name = "{} (@{})".format(name, info["username"])
        return {
            "account": "{} [{}]".format(
                name, info.get("id") or self.config.account_ref
            ),
            "details": {"subscribed_fields": ", ".join(sorted(subscribed))},
            "url": "",
            "matches": "messages" in subscribed,
        }


@register
class MessengerConnector(MessagingPlatformConnector):
    code = "messenger"
    label = "Facebook Messenger"
    sequence = 40
    icon = "fa-facebook"
    color = "#0084FF"
    deep_link = "https://m.me/%s"
    webhook_object = "page"
    subscribed_fields = (
        "messages,messaging_postbacks,message_deliveries,message_reads,message_echoes,"
        "message_reactions,message_edits"
    )
    profile_fields = "first_name,last_name"
    account_fields = "id,name"


@register
class InstagramConnector(MessagingPlatformConnector):
    code = "instagram"
    label = "Instagram Direct"
    sequence = 50
    icon = "fa-instagram"
    color = "#E1306C"
    deep_link = "https://ig.me/m/%s"
    webhook_object = "instagram"
    subscribed_fields = (
        "messages,messaging_postbacks,messaging_seen,message_reactions,message_edit"
    )
    profile_fields = "name,username"
    account_fields = "id,username,name"
