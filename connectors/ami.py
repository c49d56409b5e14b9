"""A small client of the Asterisk Manager Interface (AMI), standard library only.

AMI is a line protocol over TCP (port 5038, or TLS on 5039): the server greets with
``Asterisk Call Manager/<version>``, then both sides exchange messages made of
``Key: Value`` lines ended by an empty line (CRLF).  We send actions
(``Action: Login``, ``Ping``, ``Originate``, ``Logoff``) carrying an
``ActionID``; the server answers each with ``Response: Success|Error`` and the
same ``ActionID``, and pushes ``Event: ...`` messages in between.

This module imports nothing of Odoo nor of the rest of the connectors package,
so that the bridge script (``tools/asterisk_ami_bridge.py``) can load it alone
on the PBX host.
"""

import itertools
import socket
import ssl
import time

DEFAULT_PORT = 5038
DEFAULT_TLS_PORT = 5039

#: The AMI events a call is followed with; the bridge forwards only these.
CALL_EVENTS = frozenset(
    {
        "Newchannel",
        "DialBegin",
        "DialEnd",
        "Newexten",
        "HangupRequest",
        "SoftHangupRequest",
        "Hangup",
    }
)


def is_call_event(event):
    """Whether the bridge forwards ``event``: the call events, without the
    chatter (dialplan steps other than voicemail, channels of the second leg
    starting and ending - the call's first channel stands for the call)."""
    name = event.get("Event")
    if name not in CALL_EVENTS:
        return False
    if name == "Newexten":
        return (event.get("Application") or "").lower() == "voicemail"
    if name in ("Newchannel", "Hangup"):
        return event.get("Uniqueid") == (event.get("Linkedid") or event.get("Uniqueid"))
    return True


class AmiError(Exception):
    """The AMI server refused an action, or could not be talked to."""


def parse_address(address):
    """ "pbx.example.com:5038", "tcp://10.0.0.5" -> (host, port, False);
    "tls://pbx.example.com" -> (host, 5039, True): Asterisk's TLS manager
    port (manager.conf ``tlsenable = yes``), which keeps the AMI secret and
    the call events off the wire in clear text."""
    address = (address or "").strip()
    tls = address.startswith(("tls://", "amis://"))
    for prefix in ("tcp://", "ami://", "tls://", "amis://"):
        address = address.removeprefix(prefix)
    address = address.rstrip("/")
    if not address:
        raise AmiError("no AMI address is set")
    host, _sep, port = address.rpartition(":") if ":" in address else (address, "", "")
    try:
        return (
            host,
            int(port) if port else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
            tls,
        )
    except ValueError:
        raise AmiError(f"the AMI port must be a number: {port!r}") from None


def encode(fields):
    lines = []
    for key, value in fields:
        value = str(value)
        if "\r" in value or "\n" in value:
            raise AmiError(f"an AMI value cannot contain a line break ({key})")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class AmiClient:
    """One AMI connection.  ``timeout`` bounds every wait on the socket."""

    def __init__(
        self, host, port=DEFAULT_PORT, timeout=10, tls=False, cadata=None, cafile=None
    ):
        """``tls``: talk TLS (the certificate is checked against ``host``
        with the system's authorities, or ``cadata``/``cafile``: the PBX's
        own certificate or CA, PEM)."""
        self.host, self.port, self.timeout = host, port, timeout
        self.tls, self.cadata, self.cafile = tls, cadata or None, cafile or None
        self.sock = None
        self.banner = ""
        self._buffer = b""
        self._pending_events = []
        self._ids = itertools.count(1)

    # -- connection -----------------------------------------------------------
    def connect(self):
        try:
            self.sock = socket.create_connection(
                (self.host, self.port), timeout=self.timeout
            )
        except OSError as exc:
            raise AmiError(
                f"cannot connect to {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        if self.tls:
            try:
                context = ssl.create_default_context(
                    cafile=self.cafile, cadata=self.cadata
                )
                self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
            except (ssl.SSLError, ssl.CertificateError, OSError, ValueError) as exc:
                self.sock.close()
                self.sock = None
                raise AmiError(
                    "TLS with {}:{} failed ({})".format(
                        self.host, self.port, getattr(exc, "reason", None) or exc
                    )
                ) from None
        self.banner = self._read_line(time.monotonic() + self.timeout)
        if not self.banner.startswith("Asterisk Call Manager"):
            self.close()
            raise AmiError(
                f"{self.host}:{self.port} is not an Asterisk manager interface"
            )
        return self

    def login(self, username, secret, events="off"):
        """``events``: 'off' for actions only, 'call' to receive call events."""
        response = self.action("Login", Username=username, Secret=secret, Events=events)
        if response.get("Response") != "Success":
            raise AmiError(response.get("Message") or "authentication failed")
        return response

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.sendall(encode([("Action", "Logoff"), ("ActionID", "logoff")]))
        except OSError:
            pass
        try:
            self.sock.close()
        finally:
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- actions --------------------------------------------------------------
    def send_action(self, name, **fields):
        """Send an action; return its ActionID."""
        if self.sock is None:
            raise AmiError("not connected")
        action_id = fields.pop("ActionID", None) or f"odoo-{next(self._ids)}"
        pairs = [("Action", name), ("ActionID", action_id)]
        for key, value in fields.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if item is not None:
                    pairs.append((key, item))
        try:
            self.sock.sendall(encode(pairs))
        except OSError as exc:
            raise AmiError(f"the AMI connection broke ({exc})") from None
        return action_id

    def action(self, name, timeout=None, **fields):
        """Send an action and wait for its response (events read meanwhile
        are kept for :meth:`next_event`)."""
        action_id = self.send_action(name, **fields)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self.read_message(deadline)
            if message is None:
                raise AmiError(f"no answer to {name} within {timeout or self.timeout}s")
            if "Response" in message and message.get("ActionID") == action_id:
                return message
            if "Event" in message:
                self._pending_events.append(message)

    def next_event(self, timeout):
        """The next event, or None when none came within ``timeout`` seconds."""
        if self._pending_events:
            return self._pending_events.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            message = self.read_message(deadline)
            if message is None or "Event" in message:
                return message

    def wait_event(self, predicate, timeout):
        """The first event matching ``predicate`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for index, event in enumerate(self._pending_events):
            if predicate(event):
                return self._pending_events.pop(index)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            message = self.read_message(deadline)
            if message is None:
                return None
            if "Event" in message:
                if predicate(message):
                    return message
                self._pending_events.append(message)

    # -- framing --------------------------------------------------------------
    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError as exc:
            raise AmiError(f"the AMI connection broke ({exc})") from None
        if not chunk:
            raise AmiError("the AMI server closed the connection")
        self._buffer += chunk
        return True

    def _read_line(self, deadline):
        while b"\r\n" not in self._buffer:
            if len(self._buffer) > 1024 * 1024:
                raise AmiError("AMI line too long")
            if not self._fill(deadline):
                raise AmiError(f"no greeting from {self.host}:{self.port}")
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_message(self, deadline):
        """One message as a dict, or None at the deadline.  A repeated key
        (``Variable``) keeps every value, joined by a line break."""
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > 4 * 1024 * 1024:
                raise AmiError("AMI message too long")
            if not self._fill(deadline):
                return None
        raw, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        message = {}
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            message[key] = f"{message[key]}\n{value}" if key in message else value
        return message or self.read_message(deadline)
