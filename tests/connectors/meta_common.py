"""Helpers of the Meta tests (WhatsApp, Messenger, Instagram): the
X-Hub-Signature-256 of a body, written here independently of the connector."""

import hashlib
import hmac
import json

APP_SECRET = "meta-app-secret"
SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body, secret=APP_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(data):
    return json.dumps(data).encode()
