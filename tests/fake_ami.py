"""A fake Asterisk Manager Interface on 127.0.0.1, speaking the real AMI text
protocol: the ``Asterisk Call Manager/<version>`` greeting, ``Key: Value``
lines ended by an empty line (CRLF), actions answered with ``Response`` and
their ``ActionID``, events pushed to clients logged in with events on."""

import socketserver
import threading
import time

BANNER = "Asterisk Call Manager/9.0.0"


def frame(fields):
    return ("\r\n".join(f"{k}: {v}" for k, v in fields) + "\r\n\r\n").encode()


class FakeAmiServer:
    """``script``: events (dicts, in order) pushed to the first client that
    logs in with events on.  ``originate_outcome``: 'answered' (Success, then
    OriginateResponse Success), 'busy' (queued, then OriginateResponse Failure
    reason 5) or 'refused' (Response: Error, Permission denied)."""

    def __init__(self, username="odoo", secret="ami-secret", ssl_context=None):
        """``ssl_context``: a server-side SSLContext to speak TLS, as
        Asterisk's TLS manager port does."""
        self.username, self.secret = username, secret
        self.tls_handshakes = 0
        self.script = []
        self.originate_outcome = "answered"
        self.actions = []  # every action received, as dicts
        self.logins = []  # (username, accepted, events)
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sock = self.request
                if ssl_context is not None:
                    try:
                        sock = ssl_context.wrap_socket(sock, server_side=True)
                    except OSError:
                        return  # the client refused our certificate
                    server.tls_handshakes += 1
                sock.sendall((BANNER + "\r\n").encode())
                buffer = b""
                while True:
                    try:
                        chunk = sock.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                    while b"\r\n\r\n" in buffer:
                        raw, buffer = buffer.split(b"\r\n\r\n", 1)
                        action = {}
                        for line in raw.decode().split("\r\n"):
                            key, _sep, value = line.partition(":")
                            action[key.strip()] = value.strip()
                        server.actions.append(action)
                        if not server.answer(sock, action):
                            return

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.thread = threading.Thread(target=self.tcp.serve_forever, daemon=True)

    @property
    def address(self):
        return f"127.0.0.1:{self.tcp.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.tcp.shutdown()
        self.tcp.server_close()

    def find(self, name):
        return [a for a in self.actions if a.get("Action") == name]

    # -- protocol -----------------------------------------------------------------
    def answer(self, sock, action):
        name, action_id = action.get("Action"), action.get("ActionID", "")
        if name == "Login":
            accepted = (
                action.get("Username") == self.username
                and action.get("Secret") == self.secret
            )
            events = action.get("Events", "on")
            self.logins.append((action.get("Username"), accepted, events))
            if not accepted:
                sock.sendall(
                    frame(
                        [
                            ("Response", "Error"),
                            ("ActionID", action_id),
                            ("Message", "Authentication failed"),
                        ]
                    )
                )
                return False
            sock.sendall(
                frame(
                    [
                        ("Response", "Success"),
                        ("ActionID", action_id),
                        ("Message", "Authentication accepted"),
                    ]
                )
            )
            sock.sendall(
                frame(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", "1200"),
                        ("LastReload", "1200"),
                        ("Status", "Fully Booted"),
                    ]
                )
            )
            if events != "off" and self.script:
                script, self.script = self.script, []
                for event in script:
                    sock.sendall(frame(list(event.items())))
            return True
        if name == "Ping":
            sock.sendall(
                frame(
                    [
                        ("Response", "Success"),
                        ("ActionID", action_id),
                        ("Ping", "Pong"),
                        ("Timestamp", f"{time.time():.6f}"),
                    ]
                )
            )
            return True
        if name == "Logoff":
            sock.sendall(
                frame(
                    [
                        ("Response", "Goodbye"),
                        ("ActionID", action_id),
                        ("Message", "Thanks for all the fish."),
                    ]
                )
            )
            return False
        if name == "Originate":
            if self.originate_outcome == "refused":
                sock.sendall(
                    frame(
                        [
                            ("Response", "Error"),
                            ("ActionID", action_id),
                            ("Message", "Permission denied"),
                        ]
                    )
                )
                return True
            sock.sendall(
                frame(
                    [
                        ("Response", "Success"),
                        ("ActionID", action_id),
                        ("Message", "Originate successfully queued"),
                    ]
                )
            )
            success = self.originate_outcome == "answered"
            sock.sendall(
                frame(
                    [
                        ("Event", "OriginateResponse"),
                        ("Privilege", "call,all"),
                        ("ActionID", action_id),
                        ("Response", "Success" if success else "Failure"),
                        ("Channel", action.get("Channel", "")),
                        ("Context", action.get("Context", "")),
                        ("Exten", action.get("Exten", "")),
                        ("Reason", "4" if success else "5"),
                        (
                            "Uniqueid",
                            action.get("ChannelId", "") if success else "<null>",
                        ),
                        ("CallerIDNum", action.get("Exten", "")),
                        ("CallerIDName", "<unknown>"),
                    ]
                )
            )
            return True
        sock.sendall(
            frame(
                [
                    ("Response", "Error"),
                    ("ActionID", action_id),
                    ("Message", "Invalid/unknown command"),
                ]
            )
        )
        return True


def channel_fields(
    channel,
    uniqueid,
    linkedid,
    number,
    name="",
    exten="",
    context="from-internal",
    state="4",
):
    """The channel headers every AMI call event carries."""
    return {
        "Channel": channel,
        "ChannelState": state,
        "ChannelStateDesc": {"4": "Ring", "6": "Up", "0": "Down"}[state],
        "CallerIDNum": number,
        "CallerIDName": name or "<unknown>",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": context,
        "Exten": exten,
        "Priority": "1",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
    }


def originated_call_script(
    channel_id, number, start, leg, dial_after, answer_after, hangup_after=None
):
    """The AMI events of a call Odoo originated under ``channel_id``: the
    phone of extension 101 (channel number ``leg``) dials ``number`` through
    the trunk ``dial_after`` seconds after ``start``, the customer answers
    ``answer_after`` seconds after ``start`` and, with ``hangup_after``, the
    employee hangs up then."""
    me = channel_fields(
        f"PJSIP/101-{leg:08d}", channel_id, channel_id, number, exten=number
    )
    trunk = channel_fields(
        f"PJSIP/trunk-{leg + 1:08d}", channel_id + "-2", channel_id, number
    )
    dest = {"Dest" + k: v for k, v in trunk.items()}
    script = [
        dict(me, Event="Newchannel", Timestamp=f"{start:.6f}"),
        dict(
            me,
            Event="DialBegin",
            Timestamp=f"{start + dial_after:.6f}",
            DialString=f"trunk/{number}",
            **dest,
        ),
        dict(
            me,
            Event="DialEnd",
            Timestamp=f"{start + answer_after:.6f}",
            DialStatus="ANSWER",
            **dest,
        ),
    ]
    if hangup_after is not None:
        script += [
            dict(me, Event="HangupRequest", Timestamp=f"{start + hangup_after:.6f}"),
            dict(
                me, Event="Hangup", Timestamp=f"{start + hangup_after:.6f}", Cause="16"
            ),
        ]
    return script


def inbound_call_script(
    linkedid,
    caller,
    did,
    extension,
    start,
    talk_seconds=95,
    answered=True,
    caller_name="",
    voicemail=False,
):
    """The AMI events of an inbound call from the trunk to ``extension``, as
    Asterisk 16+ sends them with ``timestampevents = yes``."""
    trunk = "PJSIP/trunk-{}".format(linkedid.split(".")[-1].zfill(8))
    phone = "PJSIP/{}-{}".format(
        extension, str(int(linkedid.split(".")[-1]) + 1).zfill(8)
    )
    leg2 = "{}.{}".format(linkedid.split(".")[0], int(linkedid.split(".")[-1]) + 1)
    customer = channel_fields(
        trunk, linkedid, linkedid, caller, caller_name, did, "from-trunk"
    )
    employee = channel_fields(phone, leg2, linkedid, extension, "", "", "from-internal")

    def event(name, t, *parts, **extra):
        data = {"Event": name, "Privilege": "call,all", "Timestamp": f"{t:.6f}"}
        for part in parts:
            data.update(part)
        data.update(extra)
        return data

    def dest(fields):
        return {"Dest" + k: v for k, v in fields.items()}

    end = start + 8 + (talk_seconds if answered else 20)
    script = [
        event("Newchannel", start, customer),
        event("VarSet", start, customer, Variable="CHANNEL(language)", Value="ru"),
        event(
            "Newexten",
            start,
            customer,
            Extension=did,
            Application="Dial",
            AppData=f"PJSIP/{extension},30",
        ),
        event("Newchannel", start + 0.1, employee),
        event("DialBegin", start + 0.1, customer, dest(employee), DialString=extension),
        event(
            "PeerStatus",
            start + 1,
            ChannelType="PJSIP",
            Peer=f"PJSIP/{extension}",
            PeerStatus="Reachable",
        ),
    ]
    if answered:
        script += [
            event(
                "DialEnd",
                start + 8,
                customer,
                dest(dict(employee, ChannelState="6", ChannelStateDesc="Up")),
                DialStatus="ANSWER",
            ),
            event(
                "BridgeEnter",
                start + 8,
                customer,
                BridgeUniqueid=f"b-{linkedid}",
                BridgeType="basic",
            ),
            event("HangupRequest", end, customer, Cause="16"),
        ]
    else:
        script.append(
            event(
                "DialEnd", start + 28, customer, dest(employee), DialStatus="NOANSWER"
            )
        )
        if voicemail:
            script.append(
                event(
                    "Newexten",
                    start + 28,
                    customer,
                    Extension=did,
                    Application="VoiceMail",
                    AppData=f"{extension}@default,u",
                )
            )
    script += [
        event("Hangup", end, employee, Cause="16", **{"Cause-txt": "Normal Clearing"}),
        event(
            "Hangup",
            end,
            customer,
            Cause="16" if answered else "19",
            **{"Cause-txt": "Normal Clearing" if answered else "No user responding"},
        ),
    ]
    return script
