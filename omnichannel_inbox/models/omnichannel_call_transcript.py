from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import plaintext2html


class OmnichannelCall(models.Model):
    _inherit = "omnichannel.call"

    transcript = fields.Text(
        readonly=True,
        help="The phone system's speech recognition of the call's recording.",
    )
    transcript_language = fields.Char(readonly=True)

    @api.model
    def _apply_transcript(self, channel, event, final_attempt=False):
        """Store the transcript of ``event`` (a CallTranscript) on its call
        and show it in the call's history entry."""
        call = self.sudo().search(
            [("channel_id", "=", channel.id), ("provider_call_id", "=", event.call_id)],
            limit=1,
        )
        if not call:
            if self._replayed_call(channel, event.call_id):
                return {
                    "state": "ignored",
                    "note": self.env._(
                        "the notifications of this call were outside the replay window: not applied"
                    ),
                }
            if final_attempt:
                return {
                    "state": "ignored",
                    "note": self.env._("transcript of an unknown call"),
                }
            # Recognition follows the recording, itself after the call's events.
            raise UserError(
                self.env._(
                    "Call %s is not known yet: its transcript waits for it.",
                    event.call_id,
                )
            )
        call.write(
            {
                "transcript": event.transcript or False,
                "transcript_language": event.language or False,
            }
        )
        call._ensure_entry()
        call.conversation_id._notify_panel()
        return {
            "conversation_id": call.conversation_id.id,
            "message_id": call.message_id.id,
            "note": False
            if event.transcript
            else self.env._("the recognition found no speech"),
        }

    def _entry_body(self):
        body = super()._entry_body()
        if self.transcript:
            body += Markup("<p><i>%s</i></p>") % self.env._(
                "Transcript:"
            ) + plaintext2html(self.transcript)
        return body
