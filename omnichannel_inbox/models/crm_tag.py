import re

from odoo import fields, models


class CrmTag(models.Model):
    """Tags double as product areas: a customer's words name them (routing
    conditions, skills of salespeople)."""

    _inherit = "crm.tag"

    omnichannel_keywords = fields.Char(
        "Words in messages",
        help="Comma-separated words that mean this product area in a customer's "
        "message "
        '(the tag name counts too), e.g. "chair, кресл, стул". A word matches the '
        "beginning "
        "of a word of the message, case-insensitively.",
    )

    def _omnichannel_words(self):
        self.ensure_one()
        words = [self.name or ""] + (self.omnichannel_keywords or "").split(",")
        return [w.strip().lower() for w in words if w.strip()]

    def _omnichannel_mentioned_in(self, text):
        """The tags among ``self`` that ``text`` mentions."""
        text = (text or "").lower().replace("ё", "е")
        return self.filtered(
            lambda tag: any(
                re.search(r"(?<!\w){}".format(re.escape(word.replace("ё", "е"))), text)
                for word in tag._omnichannel_words()
            )
        )
