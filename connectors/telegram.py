"""Telegram Bot API, through python-telegram-bot.

Inbound: Telegram POSTs an ``Update`` to our webhook with the secret we gave
it in ``setWebhook`` in the ``X-Telegram-Bot-Api-Secret-Token`` header.
Outbound: ``sendMessage`` / ``sendPhoto`` / ``sendDocument``.
Every call goes to ``config.base_url`` (https://api.telegram.org by default),
which is how tests point the bot at a fake Bot API server on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import logging
import mimetypes
import re

from . import register
from .base import (
    Attachment, Connector, ConnectorError, Contact, HttpAnswer, IgnoredEvent,
    InboundMessage, Location, PayloadError, SendError, SendResult, SignatureError,
    SubscriptionEvent,
)

DEFAULT_API_ROOT = 'https://api.telegram.org'
_TOKEN_IN_URL = re.compile(r'/bot[^/\s"]+')


class _RedactBotToken(logging.Filter):
    """httpx logs every request URL at INFO, and Bot API URLs carry the bot
    token (/bot<token>/method): keep the line, drop the secret."""

    def filter(self, record):
        if isinstance(record.msg, str) and record.args:
            record.args = tuple(_TOKEN_IN_URL.sub('/bot<redacted>', str(a)) if '/bot' in str(a) else a
                                for a in record.args)
        elif isinstance(record.msg, str) and '/bot' in record.msg:
            record.msg = _TOKEN_IN_URL.sub('/bot<redacted>', record.msg)
        return True


for _name in ('httpx', 'httpcore', 'telegram'):
    if not any(isinstance(f, _RedactBotToken) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_RedactBotToken())
SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token'
ALLOWED_UPDATES = ['message', 'edited_message', 'my_chat_member']


@register
class TelegramConnector(Connector):
    code = 'telegram'
    label = 'Telegram'
    user_ids_are_global = True
    reports_delivery_errors = True
    ack = HttpAnswer(200, '', 'text/plain')

    # -- plumbing ----------------------------------------------------------
    def _api_root(self):
        return (self.config.base_url or DEFAULT_API_ROOT).rstrip('/')

    def _bot(self):
        # Imported here so that the rest of the addon (and its other
        # connectors) loads even where the package is missing: Odoo then
        # reports the missing external dependency at install time.
        import telegram
        from telegram.request import HTTPXRequest
        if not self.config.token:
            raise SendError('The bot token is not set on this channel.')
        root = self._api_root()
        request = HTTPXRequest(connection_pool_size=4, connect_timeout=5, read_timeout=15,
                               write_timeout=15, media_write_timeout=30)
        return telegram.Bot(self.config.token, base_url=root + '/bot', base_file_url=root + '/file/bot',
                            request=request)

    def _run(self, func):
        """Run one Bot API exchange; python-telegram-bot is asyncio-only and
        Odoo workers are plain threads, so each call gets its own loop."""
        async def main():
            async with self._bot() as bot:
                return await func(bot)
        return asyncio.run(main())

    @staticmethod
    def _send_error(exc):
        from telegram import error
        if isinstance(exc, error.Forbidden):
            # "Forbidden: bot was blocked by the user" - no point retrying.
            return SendError(exc.message, code='forbidden', retryable=False, blocks_recipient=True)
        if isinstance(exc, error.RetryAfter):
            return SendError(exc.message, code='retry_after', retryable=True)
        if isinstance(exc, (error.TimedOut, error.NetworkError)) and not isinstance(exc, error.BadRequest):
            return SendError(exc.message or str(exc), code='network', retryable=True)
        if isinstance(exc, error.InvalidToken):
            return SendError(exc.message, code='invalid_token', retryable=False)
        if isinstance(exc, error.TelegramError):
            return SendError(exc.message, code='bad_request', retryable=False)
        return SendError(str(exc), code='error', retryable=True)

    # -- inbound -------------------------------------------------------------
    def verify(self, headers, body, query):
        if not self.secrets_equal(self.config.secret, self.header(headers, SECRET_HEADER)):
            raise SignatureError('wrong or missing %s header' % SECRET_HEADER)

    def parse(self, headers, body, query):
        import telegram
        data = self.load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get('update_id'), int):
            raise PayloadError('a Telegram update is an object with an integer update_id')
        event_id = str(data['update_id'])
        kind = next((k for k in ALLOWED_UPDATES if data.get(k)), None)
        if kind is None:
            # Polls, callback queries, channel posts...: accepted and journaled
            # as ignored, without asking the library to understand them.
            kinds = [k for k, v in data.items() if k != 'update_id' and v]
            return [IgnoredEvent(event_id, reason='update of kind %s is not handled' % (', '.join(kinds) or 'unknown'))]
        if not isinstance(data[kind], dict):
            raise PayloadError('%s must be an object' % kind)
        try:
            update = telegram.Update.de_json({'update_id': data['update_id'], kind: data[kind]}, None)
        except Exception as exc:  # noqa: BLE001 - any shape error of the library is a bad body
            raise PayloadError('not a Telegram update: %s' % exc) from None
        if update.message or update.edited_message:
            return [self._message_event(event_id, update.message or update.edited_message,
                                        is_edit=bool(update.edited_message))]
        member = update.my_chat_member
        if member and member.from_user:
            status = member.new_chat_member.status
            if status in ('kicked', 'member'):
                return [SubscriptionEvent(event_id, self._contact(member.from_user),
                                          subscribed=status == 'member',
                                          date=member.date.timestamp() if member.date else 0.0)]
        return [IgnoredEvent(event_id, reason='chat member update of status %s is not handled' % (
            member.new_chat_member.status if member else 'unknown'))]

    @staticmethod
    def _contact(user):
        name = ' '.join(p for p in (user.first_name, user.last_name) if p)
        return Contact(user_id=str(user.id), name=name or user.username or str(user.id),
                       username=user.username or '', language=user.language_code or '')

    def _message_event(self, event_id, msg, is_edit=False):
        if msg.from_user is None:
            raise PayloadError('a message without a sender (channel posts are not handled)')
        sender = self._contact(msg.from_user)
        event = InboundMessage(
            event_id=event_id,
            message_id='%s:%s' % (msg.chat.id, msg.message_id),
            chat_id=str(msg.chat.id),
            sender=sender,
            date=(msg.edit_date or msg.date).timestamp() if (msg.edit_date or msg.date) else 0.0,
            text=msg.text or msg.caption or '',
            is_edit=is_edit,
        )
        if msg.text and msg.text.startswith('/'):
            event.command = msg.text[1:].split()[0].split('@')[0].lower()
        if msg.photo:
            biggest = max(msg.photo, key=lambda p: p.width * p.height)
            event.message_type = 'image'
            event.attachments.append(Attachment('image', file_id=biggest.file_id, mimetype='image/jpeg',
                                                filename='photo_%s.jpg' % msg.message_id,
                                                size=biggest.file_size or 0))
        elif msg.document:
            doc = msg.document
            event.message_type = 'document'
            event.attachments.append(Attachment('document', file_id=doc.file_id, filename=doc.file_name or 'document',
                                                mimetype=doc.mime_type or 'application/octet-stream',
                                                size=doc.file_size or 0))
        elif msg.voice:
            event.message_type = 'voice'
            event.attachments.append(Attachment('voice', file_id=msg.voice.file_id,
                                                mimetype=msg.voice.mime_type or 'audio/ogg',
                                                filename='voice_%s.ogg' % msg.message_id,
                                                size=msg.voice.file_size or 0))
        elif msg.audio:
            event.message_type = 'audio'
            event.attachments.append(Attachment('audio', file_id=msg.audio.file_id,
                                                mimetype=msg.audio.mime_type or 'audio/mpeg',
                                                filename=msg.audio.file_name or 'audio_%s.mp3' % msg.message_id,
                                                size=msg.audio.file_size or 0))
        elif msg.video or msg.video_note:
            video = msg.video or msg.video_note
            event.message_type = 'video'
            event.attachments.append(Attachment('video', file_id=video.file_id,
                                                mimetype=getattr(video, 'mime_type', None) or 'video/mp4',
                                                filename=getattr(video, 'file_name', None) or 'video_%s.mp4' % msg.message_id,
                                                size=video.file_size or 0))
        elif msg.sticker:
            sticker = msg.sticker
            event.message_type = 'sticker'
            event.text = sticker.emoji or event.text
            if not (sticker.is_animated or sticker.is_video):
                # A static sticker is a webp picture: show it; animated ones
                # (tgs/webm) are shown as their emoji only.
                event.attachments.append(Attachment('sticker', file_id=sticker.file_id, mimetype='image/webp',
                                                    filename='sticker_%s.webp' % msg.message_id,
                                                    size=sticker.file_size or 0))
        elif msg.location:
            event.message_type = 'location'
            event.location = Location(msg.location.latitude, msg.location.longitude)
        elif msg.venue:
            event.message_type = 'location'
            event.location = Location(msg.venue.location.latitude, msg.venue.location.longitude, msg.venue.title)
        elif msg.contact:
            c = msg.contact
            event.message_type = 'contact'
            event.shared_contact = Contact(
                user_id=str(c.user_id) if c.user_id else '',
                name=' '.join(p for p in (c.first_name, c.last_name) if p),
                phone=c.phone_number or '',
            )
        elif not event.text:
            event.message_type = 'text'
            event.note = 'unsupported Telegram message'
        return event

    def fetch_media(self, attachment):
        async def download(bot):
            tg_file = await bot.get_file(attachment.file_id)
            return bytes(await tg_file.download_as_bytearray())
        try:
            data = self._run(download)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError('could not download the Telegram file: %s' % getattr(exc, 'message', exc)) from None
        mimetype = attachment.mimetype or mimetypes.guess_type(attachment.filename)[0] or 'application/octet-stream'
        return data, mimetype, attachment.filename or 'file'

    # -- outbound ------------------------------------------------------------
    def send(self, message):
        from telegram import InputFile

        async def deliver(bot):
            last = None
            text = message.text or ''
            for index, att in enumerate(message.attachments):
                # The text goes as the caption of the first file when it fits.
                caption = text if index == 0 and len(text) <= 1024 else None
                upload = InputFile(att.data, filename=att.filename)
                if (att.mimetype or '').startswith('image/') and att.mimetype != 'image/gif':
                    last = await bot.send_photo(message.recipient_id, upload, caption=caption)
                else:
                    last = await bot.send_document(message.recipient_id, upload, caption=caption)
                if caption:
                    text = ''
            if text:
                last = await bot.send_message(message.recipient_id, text)
            return last

        try:
            sent = self._run(deliver)
        except SendError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a clear SendError
            raise self._send_error(exc) from None
        if sent is None:
            raise SendError('Nothing to send: the message has no text and no attachment.')
        return SendResult('%s:%s' % (sent.chat.id, sent.message_id), 'sent')

    # -- administration ------------------------------------------------------
    def register_webhook(self):
        if not self.config.secret:
            raise ConnectorError('the channel has no webhook secret')

        async def register_it(bot):
            return await bot.set_webhook(self.config.webhook_url, secret_token=self.config.secret,
                                         allowed_updates=ALLOWED_UPDATES)
        try:
            self._run(register_it)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(getattr(exc, 'message', None) or str(exc)) from None
        return self.config.webhook_url

    def webhook_info(self):
        async def info(bot):
            me = await bot.get_me()
            return me, await bot.get_webhook_info()
        try:
            me, wh = self._run(info)
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(getattr(exc, 'message', None) or str(exc)) from None
        return {
            'bot': '@%s' % me.username if me.username else me.first_name,
            'url': wh.url or '',
            'pending_update_count': wh.pending_update_count or 0,
            'last_error_date': wh.last_error_date.isoformat() if wh.last_error_date else '',
            'last_error_message': wh.last_error_message or '',
            'matches': bool(wh.url) and wh.url == self.config.webhook_url,
        }
