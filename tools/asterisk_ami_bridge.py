#!/usr/bin/env python3
"""Forward Asterisk's call events to an Omnichannel Inbox "Asterisk" channel.

Runs next to the PBX with nothing but Python 3 (standard library): it keeps
one AMI connection, gives each call event an id, and POSTs them as JSON to the
channel's webhook URL, signed with the channel's webhook secret.  While Odoo
is unreachable the events wait in memory (at most --buffer of them) and are
sent again with growing pauses; Odoo ignores an event it already has, so a
re-post never duplicates a call.  A lost AMI connection is reopened.

    OMNICHANNEL_WEBHOOK_SECRET=... AMI_SECRET=... \\
    python3 asterisk_ami_bridge.py --ami tls://pbx.example.com:5039 --ami-user odoo \\
        --webhook https://odoo.example.com/omnichannel/webhook/<key>

Each post carries ``X-Omnichannel-Timestamp`` and an HMAC-SHA256 of
"<timestamp>.<body>": Odoo refuses a post older than its replay window, so
the bridge host's clock must be right (NTP).  The webhook address must be
https (``--allow-http`` for a test on one machine only): the events name
customers' phone numbers.  ``--ami tls://host:5039`` talks to Asterisk's TLS
manager port (manager.conf ``tlsenable = yes``); ``--ami-ca`` names a PEM file
for a self-signed PBX certificate.

Asterisk's manager.conf needs a user with ``read = call`` (events) and, for
click-to-call from Odoo, ``write = originate``; ``timestampevents = yes`` in
[general] gives the events Asterisk's own time.  Run it under systemd (or
any supervisor) so that it restarts with the machine.
"""

import argparse
import hashlib
import hmac
import importlib.util
import itertools
import json
import logging
import os
import time
import urllib.error
import urllib.request

_logger = logging.getLogger("asterisk_ami_bridge")


def _load_ami():
    """The AMI client shipped with the addon (connectors/ami.py), loaded by
    path so that neither Odoo nor the addon's other modules are needed."""
    path = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "connectors", "ami.py"
    )
    spec = importlib.util.spec_from_file_location("omnichannel_ami", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ami = _load_ami()


class Bridge:
    def __init__(
        self,
        ami_address,
        ami_user,
        ami_secret,
        webhook_url,
        webhook_secret,
        batch_size=50,
        buffer_size=10000,
        post_timeout=15,
        allow_http=False,
        ami_cafile=None,
        ami_cadata=None,
    ):
        if not webhook_url.startswith("https://") and not (
            allow_http and webhook_url.startswith("http://")
        ):
            raise ValueError(
                "the webhook address must start with https:// (the events name "
                "customers' "
                "phone numbers); --allow-http for a test on one machine only"
            )
        self.host, self.port, self.tls = ami.parse_address(ami_address)
        self.ami_cafile, self.ami_cadata = ami_cafile, ami_cadata
        self.ami_user, self.ami_secret = ami_user, ami_secret
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.batch_size, self.buffer_size, self.post_timeout = (
            batch_size,
            buffer_size,
            post_timeout,
        )
        self.buffer = []
        self.forwarded = 0
        self.dropped = 0
        # Ids unique across restarts of the bridge: start time + counter.
        self._ids = (f"{int(time.time() * 1000)}-{n}" for n in itertools.count(1))
        self._post_pause = 0
        self._next_post = 0.0

    # -- AMI side ---------------------------------------------------------------
    def connect(self):
        client = ami.AmiClient(
            self.host,
            self.port,
            timeout=10,
            tls=self.tls,
            cafile=self.ami_cafile,
            cadata=self.ami_cadata,
        ).connect()
        client.login(self.ami_user, self.ami_secret, events="call")
        _logger.info("connected to %s:%s (%s)", self.host, self.port, client.banner)
        return client

    def take(self, event):
        if not ami.is_call_event(event):
            return False
        event = dict(event, EventId=next(self._ids), ReceivedAt=f"{time.time():.3f}")
        if len(self.buffer) >= self.buffer_size:
            self.buffer.pop(0)
            self.dropped += 1
            _logger.error(
                "buffer full: the oldest event was dropped (%d so far)", self.dropped
            )
        self.buffer.append(event)
        return True

    # -- Odoo side --------------------------------------------------------------
    def post(self, events):
        body = json.dumps({"events": events}).encode()
        # Signed with the time of this post (not of the events, which may
        # have waited in the buffer): Odoo refuses a post replayed later.
        timestamp = str(int(time.time()))
        signature = hmac.new(
            self.webhook_secret.encode(),
            timestamp.encode() + b"." + body,
            hashlib.sha256,
        ).hexdigest()
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Omnichannel-Timestamp": timestamp,
                "X-Omnichannel-Signature": "sha256=" + signature,
            },
        )
        with urllib.request.urlopen(request, timeout=self.post_timeout) as response:
            return response.status

    def flush(self):
        """Send what is buffered; keep it for later if Odoo did not take it."""
        while self.buffer and time.monotonic() >= self._next_post:
            batch = self.buffer[: self.batch_size]
            try:
                self.post(batch)
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    # Odoo refused these events for good (bad secret: 403): retrying
                    # cannot help.
                    _logger.error(
                        "Odoo refused %d event(s): HTTP %s %s",
                        len(batch),
                        exc.code,
                        exc.read()[:300].decode("utf-8", "replace"),
                    )
                    del self.buffer[: len(batch)]
                    self.dropped += len(batch)
                    continue
                self._backoff(f"HTTP {exc.code}")
                return False
            except (urllib.error.URLError, OSError) as exc:
                self._backoff(exc)
                return False
            del self.buffer[: len(batch)]
            self.forwarded += len(batch)
            self._post_pause = 0
        return not self.buffer

    def _backoff(self, reason):
        self._post_pause = min(max(1, self._post_pause * 2), 300)
        self._next_post = time.monotonic() + self._post_pause
        _logger.warning(
            "Odoo not reachable (%s): %d event(s) kept, next try in %ss",
            reason,
            len(self.buffer),
            self._post_pause,
        )

    # -- loop ---------------------------------------------------------------------
    def run(self, max_events=None, stop_after=None):
        """Forward events until stopped; ``max_events`` / ``stop_after``
        (seconds) bound a run (tests, one-shot use)."""
        deadline = time.monotonic() + stop_after if stop_after else None
        taken = 0
        client = None
        reconnect_pause = 1
        try:
            while True:
                if deadline and time.monotonic() >= deadline:
                    break
                if max_events is not None and taken >= max_events and self.flush():
                    break
                if client is None:
                    try:
                        client = self.connect()
                        reconnect_pause = 1
                    except ami.AmiError as exc:
                        _logger.warning(
                            "AMI: %s; retrying in %ss", exc, reconnect_pause
                        )
                        time.sleep(reconnect_pause)
                        reconnect_pause = min(reconnect_pause * 2, 60)
                        continue
                try:
                    event = client.next_event(timeout=1)
                except ami.AmiError as exc:
                    _logger.warning("AMI connection lost: %s", exc)
                    client.close()
                    client = None
                    continue
                if event is not None and self.take(event):
                    taken += 1
                if event is None or len(self.buffer) >= self.batch_size:
                    self.flush()
        finally:
            self.flush()
            if client is not None:
                client.close()
        return self.forwarded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ami",
        default=os.environ.get("AMI_ADDRESS", "127.0.0.1:5038"),
        help="AMI host:port (default 127.0.0.1:5038), "
        "or tls://host:port for the TLS manager "
        "port (5039 by default; recommended unless the bridge runs on the PBX itself)",
    )
    parser.add_argument(
        "--ami-ca",
        default=os.environ.get("AMI_CA_FILE"),
        help="PEM file of the PBX certificate or its CA, "
        "for a self-signed TLS manager port",
    )
    parser.add_argument(
        "--allow-http",
        action="store_true",
        help="accept an http:// webhook address "
        "(tests on one machine; never across a network)",
    )
    parser.add_argument("--ami-user", default=os.environ.get("AMI_USER", "odoo"))
    parser.add_argument(
        "--webhook",
        default=os.environ.get("OMNICHANNEL_WEBHOOK_URL"),
        help="the Asterisk channel's webhook URL in Odoo",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Secrets come from the environment, never from the command line (ps shows it).
    ami_secret = os.environ.get("AMI_SECRET")
    webhook_secret = os.environ.get("OMNICHANNEL_WEBHOOK_SECRET")
    if not (args.webhook and ami_secret and webhook_secret):
        parser.error(
            "set --webhook, and AMI_SECRET and OMNICHANNEL_WEBHOOK_SECRET in the "
            "environment"
        )
    try:
        bridge = Bridge(
            args.ami,
            args.ami_user,
            ami_secret,
            args.webhook,
            webhook_secret,
            allow_http=args.allow_http,
            ami_cafile=args.ami_ca,
        )
    except (ValueError, ami.AmiError) as exc:
        parser.error(str(exc))
    bridge.run()


if __name__ == "__main__":
    main()
