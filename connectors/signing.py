"""The one signing helper: HMAC signatures of webhook bodies and API calls,
and their constant-time comparison.

Each provider's scheme (which bytes are signed, how the digest is written)
stays in its connector; the keyed hash and the comparison are here, so that
every check compares with :func:`hmac.compare_digest` and refuses a channel
without a secret.
"""

from __future__ import annotations

import base64
import hmac


def hmac_digest(secret: str, data, algorithm: str = "sha256") -> bytes:
    """HMAC of ``data`` (bytes, or text as UTF-8) keyed with ``secret``."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hmac.new(secret.encode(), data, algorithm).digest()


def hmac_hex(secret: str, data, algorithm: str = "sha256") -> str:
    """The HMAC as lower-case hex (Meta, Viber, the phone webhook)."""
    return hmac_digest(secret, data, algorithm).hex()


def hmac_base64(secret: str, data, algorithm: str = "sha256") -> str:
    """The HMAC's raw digest, base64-encoded (Twilio)."""
    return base64.b64encode(hmac_digest(secret, data, algorithm)).decode()


def secrets_equal(expected: str, given) -> bool:
    """Constant-time comparison that refuses an empty expected secret:
    a channel without a secret accepts nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), str(given).encode())
