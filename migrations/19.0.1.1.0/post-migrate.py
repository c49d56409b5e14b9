"""19.0.1.1.0: the channels' secrets are stored encrypted (omnichannel_crypto)."""

import logging

from odoo import SUPERUSER_ID, api

from odoo.addons.omnichannel_inbox.omnichannel_inbox.models import (
    omnichannel_crypto as crypto,
)

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    if not crypto.key_available():
        # Clear values keep working (they are read as they are) and are
        # encrypted by the rotation command once a key is configured.
        _logger.warning(
            "Omnichannel: no encryption key configured (%s / %s): the channel "
            "secrets stay in clear "
            'until `_encrypt_clear_secrets` runs with a key (README, "Encryption at '
            'rest").',
            crypto.CONFIG_OPTION,
            crypto.ENV_VARIABLE,
        )
        return
    env["omnichannel.channel"]._encrypt_clear_secrets()
