"""Website forms and the lead API.

One channel account per source (a site, a landing page, a partner's
integration): its webhook address receives JSON submissions signed with the
account's API key in a header, compared in constant time.  Odoo's own public
contact page (``/omnichannel/contact/<key>``) builds the same submission from
its form fields and hands it to :meth:`WebsiteConnector.parse_submission`, so
both go through the same checks, journal and identity rules.

Wire format (POST, application/json, header ``X-Omnichannel-Api-Key``)::

    {"submission_id": "<optional, unique per submission: a replay is not stored twice>",
     "name": "Anna Smirnova", "email": "anna@example.com", "phone": "+7 912 345-67-89",
     "message": "I need 40 chairs", "page_url": "https://example.com/chairs",
     "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}

``email`` or ``phone`` is required; everything else is optional.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import ClassVar

from .errors import PayloadError, SendError, SignatureError
from .events import Contact, InboundMessage, register_event_class
from .interface import Connector, register
from .signing import secrets_equal
from .validation import check_events

API_KEY_HEADER = "X-Omnichannel-Api-Key"
MAX_TEXT = 20000
#: field -> longest accepted value
FIELDS = {
    "submission_id": 100,
    "name": 200,
    "email": 200,
    "phone": 64,
    "message": MAX_TEXT,
    "page_url": 2000,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
}
EMAIL_RE = re.compile(r'^[^@\s<>(),;:"]+@[^@\s<>(),;:"]+\.[^@\s<>(),;:"]+$')
PHONE_RE = re.compile(r"^\+?[\d\s().-]+$")


@register_event_class
@dataclass
class FormSubmission(InboundMessage):
    """A website form or API submission: a message plus where it came from."""

    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    page_url: str = ""

    kind: ClassVar[str] = "form"


@register
class WebsiteConnector(Connector):
    code = "website"
    label = "Website forms and API"
    sequence = 100
    kind = "website"
    icon = "fa-globe"
    supports_survey = False
    supports_send_budget = False
    supports_connection_settings = False

    def verify(self, headers, body, query):
        if not secrets_equal(self.config.secret, self.header(headers, API_KEY_HEADER)):
            raise SignatureError(f"wrong or missing {API_KEY_HEADER} header")

    def check_format(self, headers, body, query):
        # Our own API, called by a site's code that shows the refusal: a
        # submission outside the format above is refused with its reason
        # (no provider retries it for days).
        check_events(self.parse(headers, body, query))

    def parse(self, headers, body, query):
        return [self.parse_submission(self.load_json(body))]

    @classmethod
    def parse_submission(cls, data) -> FormSubmission:
        """Check one submission (a dict) and turn it into an event; raise
        :class:`PayloadError` saying what is wrong."""
        if not isinstance(data, dict):
            raise PayloadError("a submission is a JSON object")
        values = {}
        for key, limit in FIELDS.items():
            value = data.get(key)
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise PayloadError(f"{key} must be a string")
            value = value.strip()
            if len(value) > limit:
                raise PayloadError(f"{key} is longer than {limit} characters")
            values[key] = value
        email, phone = values["email"], values["phone"]
        if not email and not phone:
            raise PayloadError("email or phone is required")
        if email and not EMAIL_RE.match(email):
            raise PayloadError("email is not a valid address")
        if phone and (not PHONE_RE.match(phone) or sum(c.isdigit() for c in phone) < 6):
            raise PayloadError("phone is not a valid number")
        if values["page_url"] and not re.match(r"^https?://\S+$", values["page_url"]):
            raise PayloadError("page_url must be an http(s) address")
        submission_id = (
            values["submission_id"]
            or "sha256:"
            + hashlib.sha256(
                json.dumps(
                    {k: v for k, v in values.items() if k != "submission_id"},
                    sort_keys=True,
                ).encode()
            ).hexdigest()[:64]
        )
        # The email (else the phone) names the person on this source; the
        # identity rules then match them to an existing customer by either.
        user_id = email.lower() if email else phone
        return FormSubmission(
            event_id=submission_id,
            message_id=submission_id,
            sender=Contact(
                user_id=user_id,
                name=values["name"] or email or phone,
                phone=phone,
                email=email,
            ),
            chat_id=user_id,
            date=time.time(),
            text=values["message"],
            message_type="form",
            utm_source=values["utm_source"],
            utm_medium=values["utm_medium"],
            utm_campaign=values["utm_campaign"],
            page_url=values["page_url"],
        )

    def send(self, message):
        raise SendError(
            "a website form cannot receive an answer: "
            "reply by email or on another channel"
        )
