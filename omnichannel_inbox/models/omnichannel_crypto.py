"""Encryption at rest of the channels' secrets (and of the files of
conversations and calls), under a key that is not in the database.

The key is read from Odoo's configuration file (``omnichannel_encryption_key``
in the ``[options]`` section) or, when the file has none, from the
environment variable ``OMNICHANNEL_ENCRYPTION_KEY``.  It is a Fernet key
(``python3 -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``);
several keys separated by commas are accepted: the first one encrypts, every
one decrypts (what lets a server run while a rotation is under way).

Fernet is authenticated encryption (AES-128-CBC + HMAC-SHA256): a value
altered in the database does not decrypt to something else, it fails.
Files use AES-256-GCM under a key derived from the same key (HKDF).
A stored secret is ``PREFIX`` + the Fernet token, so that a clear value
left by an older version (or written by SQL) is told apart and migrated."""

import base64
import functools
import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import config
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

_logger = logging.getLogger(__name__)

CONFIG_OPTION = "omnichannel_encryption_key"
ENV_VARIABLE = "OMNICHANNEL_ENCRYPTION_KEY"
#: Marks an encrypted column value (secrets) and an encrypted file (filestore).
PREFIX = "ocenc1:"
FILE_PREFIX = b"OCENC2\n"


class KeyMissing(UserError):
    """The key is not configured, is malformed, or does not open a stored value."""


def configured_keys():
    """The configured keys, first one used to encrypt ('' parts ignored)."""
    raw = config.get(CONFIG_OPTION) or os.environ.get(ENV_VARIABLE) or ""
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


@functools.lru_cache(maxsize=8)
def _fernet(keys):
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet(keys=None):
    """The MultiFernet of ``keys`` (default: the configured ones); raises
    KeyMissing when there is none or one is not a Fernet key."""
    keys = tuple(keys) if keys else configured_keys()
    if not keys:
        raise KeyMissing(
            str(
                _lt(
                    "The encryption key of Omnichannel Inbox is not configured: set "
                    "%(option)s in the Odoo "
                    "configuration file or the environment variable %(variable)s.",
                    option=CONFIG_OPTION,
                    variable=ENV_VARIABLE,
                )
            )
        )
    try:
        return _fernet(keys)
    except (ValueError, TypeError):
        raise KeyMissing(
            str(
                _lt(
                    "The configured encryption key of Omnichannel Inbox is not a valid "
                    "Fernet key "
                    "(32 url-safe base64-encoded bytes)."
                )
            )
        ) from None


def key_available():
    try:
        fernet()
    except KeyMissing:
        return False
    return True


def is_encrypted(value):
    return isinstance(value, str) and value.startswith(PREFIX)


def encrypt(value, keys=None):
    """``PREFIX`` + token of a clear str; empty values stay empty."""
    if not value:
        return value
    return PREFIX + fernet(keys).encrypt(value.encode()).decode()


def decrypt(value, keys=None):
    """The clear str of a stored value; a value without ``PREFIX`` is a
    clear value not migrated yet and is returned as it is.  Raises
    KeyMissing when the key is absent or does not open it."""
    if not is_encrypted(value):
        return value
    try:
        return fernet(keys).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise KeyMissing(
            str(
                _lt(
                    "The configured encryption key does not open the stored secrets "
                    "(wrong key, or a rotation not finished)."
                )
            )
        ) from None


@functools.lru_cache(maxsize=8)
def _file_cipher(key):
    # Files are encrypted with AES-256-GCM (authenticated, no base64: ~10x
    # faster than Fernet on a recording) under a key derived from the Fernet
    # key, so that one configured key covers secrets and files.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"omnichannel_inbox files"
    ).derive(base64.urlsafe_b64decode(key.encode()))
    return AESGCM(derived)


def _file_ciphers(keys=None):
    fernet(keys)  # same checks and messages as for secrets
    return [_file_cipher(key) for key in (tuple(keys) if keys else configured_keys())]


def encrypt_bytes(data, keys=None):
    """``FILE_PREFIX`` + 12-byte nonce + AES-GCM ciphertext of ``data``."""
    nonce = os.urandom(12)
    return (
        FILE_PREFIX + nonce + _file_ciphers(keys)[0].encrypt(nonce, data, FILE_PREFIX)
    )


def decrypt_bytes(data, keys=None):
    if not data.startswith(FILE_PREFIX):
        return data
    start = len(FILE_PREFIX)
    nonce, ciphertext = data[start : start + 12], data[start + 12 :]
    for cipher in _file_ciphers(keys):
        try:
            return cipher.decrypt(nonce, ciphertext, FILE_PREFIX)
        except InvalidTag:
            continue
    raise KeyMissing(str(_lt("The configured encryption key does not open this file.")))


class EncryptedChar(fields.Char):
    """A Char stored encrypted in its column and clear in the ORM cache.

    Odoo writes a stored column through ``convert_to_column_insert`` (create
    and flush) and fills the cache from a SELECT through ``_insert_cache``:
    encrypting in the first and decrypting in the second keeps every reader
    (``_connector_config``, the admin form) on clear values.  A value that
    cannot be decrypted (no key, wrong key) reads as empty; whoever needs the
    secret checks it with ``omnichannel.channel._check_secrets_readable``.
    The column holds random ciphertext: these fields cannot be searched."""

    def convert_to_column_insert(self, value, record, values=None, validate=True):
        value = super().convert_to_column_insert(value, record, values, validate)
        if not value or is_encrypted(value):
            return value
        try:
            return encrypt(value)
        except KeyMissing as exc:
            raise UserError(
                record.env._(
                    "A secret cannot be saved without the encryption key: %s",
                    exc.args[0],
                )
            ) from None

    def _insert_cache(self, records, values):
        super()._insert_cache(records, map(_decrypt_or_none, values))


#: Set once a stored value failed to decrypt in this process (wrong key):
#: from then on an empty secret is checked in the database before use.
DECRYPT_FAILED = []


def _decrypt_or_none(value):
    if not is_encrypted(value):
        return value
    try:
        return decrypt(value)
    except KeyMissing:
        DECRYPT_FAILED[:] = [True]
        return None


def unreadable_possible():
    """Whether an empty secret read through the ORM may be one that could
    not be decrypted (no key, or a value failed to decrypt)."""
    return bool(DECRYPT_FAILED) or not key_available()
