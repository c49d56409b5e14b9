"""Database-free tests of the provider connectors (plain pytest, no Odoo).

The connectors import nothing of Odoo, so these tests import them as the
top-level package ``connectors`` with the repository root on ``sys.path``.
This directory has no ``__init__.py``: Odoo's test runner, which imports
``tests`` as a package, never sees it.

``provider`` is a tiny HTTP server on 127.0.0.1 standing for a provider's
API: it records every request and answers what the test queued.
"""

import http.server
import json
import os
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The repository root for ``import connectors``; this directory for the
# tests' own helpers (``meta_common``) whatever pytest's import mode.
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


class FakeProvider(http.server.ThreadingHTTPServer):
    """Records requests as (method, path, headers, body); answers with the
    route of the longest suffix ending the path, else from ``answers`` (first in, first
    out), else with the ``default`` answer."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []
        self.answers = []
        self.routes = {}
        self.default = (200, {"ok": True}, {})

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}"

    def answer(self, status=200, body=None, headers=None):
        """Queue one answer: ``body`` a dict/list (sent as JSON) or bytes."""
        self.answers.append((status, body if body is not None else {}, headers or {}))

    def route(self, suffix, status=200, body=None, headers=None):
        """Always answer requests whose path (without query) ends with ``suffix``."""
        self.routes[suffix] = (status, body if body is not None else {}, headers or {})

    def json_bodies(self):
        return [json.loads(body) for _m, _p, _h, body in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server
        server.requests.append((self.command, self.path, dict(self.headers), body))
        path = self.path.split("?")[0]
        routed = [
            answer
            for suffix, answer in sorted(
                server.routes.items(), key=lambda item: -len(item[0])
            )
            if path.endswith(suffix)
        ]
        if routed:
            status, payload, headers = routed[0]
        elif server.answers:
            status, payload, headers = server.answers.pop(0)
        else:
            status, payload, headers = server.default
        if not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
            headers = dict({"Content-Type": "application/json"}, **headers)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    server = FakeProvider()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def make_connector(code, **values):
    """A connector of channel type ``code`` with the given settings."""
    # Imported here: the package is importable once the path above is set.
    from connectors import ChannelConfig, get_connector_class

    extra = values.pop("extra", {})
    return get_connector_class(code)(ChannelConfig(extra=extra, **values))


@pytest.fixture
def connector():
    return make_connector


# pytest-odoo's session fixtures (registry, HTTP server, test flag) are
# autouse for every test: replaced by no-ops here, so that these tests need
# no Odoo and a run of this directory alone creates no database.
@pytest.fixture(scope="session", autouse=True)
def load_registry():
    yield


@pytest.fixture(scope="session", autouse=True)
def load_http():
    yield


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag():
    yield
