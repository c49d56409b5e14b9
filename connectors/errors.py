"""The errors a connector raises.

The webhook controller turns them into HTTP answers (403 for a
:class:`SignatureError`, 400 for a :class:`PayloadError`, ...) without
storing anything; the send queue reads :class:`SendError`'s flags.
"""


class ConnectorError(Exception):
    """Base class of the errors a connector raises."""


class SignatureError(ConnectorError):
    """The request is not from the provider (forged or missing signature)."""


class ReplayedRequest(ConnectorError):
    """The request is authentic (its signature checks out) but was sent
    outside the replay window, by a provider that signs no sending time of
    its own (Zadarma, a PBX script signing the body alone).  It is journaled
    as ignored with this reason and acknowledged, never applied: refusing it
    would make the provider retry a late but real delivery for hours."""


class PayloadError(ConnectorError):
    """The request body is not what the provider sends (malformed)."""


class SendError(ConnectorError):
    """The provider refused or failed to deliver an outbound message.

    ``retryable`` tells whether trying again later may succeed (provider down,
    rate limit) or not (the user blocked the bot, invalid recipient).
    ``blocks_recipient`` tells that the recipient can no longer be reached on
    this channel at all (blocked bot, unsubscribed) until they write again.
    ``retry_after`` (seconds) marks the provider's rate limit (a 429, a
    flood-control code): the whole channel waits that long, not only this
    message (see ``omnichannel.send.budget``).
    """

    def __init__(
        self,
        message,
        code=None,
        retryable=False,
        blocks_recipient=False,
        retry_after=None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable or bool(retry_after)
        self.blocks_recipient = blocks_recipient
        self.retry_after = retry_after
