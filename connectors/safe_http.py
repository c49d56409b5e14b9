"""Downloads the server makes because a payload named a URL (media of a
message, a call recording): the one place where they are checked.

A webhook body says where a file is.  Signed or not, that address is the
sender's choice: pointed at the server's own network (``127.0.0.1:8069``, a
cloud metadata address, an intranet host) it would make Odoo fetch and store
what the sender cannot reach.  :func:`fetch` therefore

* accepts ``http(s)`` to a host of the allow-list only: the provider's own
  domains (declared by its connector, a listed domain covers its subdomains),
  the channel's configured API address, and the hosts an administrator listed
  on the channel (a PBX);
* resolves the host once and refuses loopback, private, link-local, reserved
  and multicast addresses, except for hosts an administrator trusted (the
  channel's API address, where the API calls go already, and the PBX hosts
  when the channel allows its private network);
* connects to the very address it checked (no second DNS answer between the
  check and the connection) while TLS still verifies the host name;
* follows at most :data:`MAX_REDIRECTS` redirects, each to an allowed host
  and checked again; credentials are dropped when the host changes;
* caps the size (announced and received) and the total time.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.parse

import requests
from requests.adapters import HTTPAdapter

from .errors import ConnectorError

MAX_REDIRECTS = 3
#: seconds one download may take in all
TOTAL_TIMEOUT = 60
#: seconds to wait on one connect or read
STEP_TIMEOUT = 20


class DownloadRefused(ConnectorError):
    """The address is not one the server may fetch: retrying cannot help."""


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` ('' when there is none)."""
    try:
        return (urllib.parse.urlsplit(url or "").hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def host_matches(host: str, domains) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    host = (host or "").lower().rstrip(".")
    for domain in domains or ():
        domain = (domain or "").strip().lower().rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to for ``host``; every address the name
    resolves to must be public unless ``allow_private``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConnectorError(
            f"{host} could not be resolved ({exc.__class__.__name__})"
        ) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise ConnectorError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise DownloadRefused(
                    f"{host} points to a local or private address ({address}): "
                    "not downloaded"
                )
    return addresses[0]


class _PinnedAdapter(HTTPAdapter):
    """Connects where the URL says (an IP address) while TLS checks the
    certificate against the real host name."""

    def __init__(self, hostname, **kwargs):
        self._hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def check_url(url: str, allowed_hosts, trusted_hosts=()):
    """(scheme, host, port) of ``url`` when the policy lets it be fetched;
    :class:`DownloadRefused` otherwise."""
    try:
        parts = urllib.parse.urlsplit(url or "")
        port = parts.port
    except ValueError:
        raise DownloadRefused("not a valid address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadRefused("only http(s) addresses are downloaded")
    if parts.username or parts.password:
        raise DownloadRefused("addresses with credentials are not downloaded")
    host = host_of(url)
    if not (host_matches(host, allowed_hosts) or host_matches(host, trusted_hosts)):
        raise DownloadRefused(f"{host} is not a host of this provider: not downloaded")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def fetch(
    url: str,
    allowed_hosts,
    trusted_hosts=(),
    max_bytes: int = 25 * 1024 * 1024,
    headers=None,
    auth=None,
    timeout: float = TOTAL_TIMEOUT,
):
    """GET ``url`` under the policy above: (data, content type, final url).

    ``allowed_hosts``: domains the file may come from (public addresses only);
    ``trusted_hosts``: hosts an administrator configured, which may also be
    on a private network.  ``headers``/``auth`` go to the first host only."""
    deadline = time.monotonic() + timeout
    for _redirect in range(MAX_REDIRECTS + 1):
        scheme, host, port = check_url(url, allowed_hosts, trusted_hosts)
        address = resolve(host, port, allow_private=host_matches(host, trusted_hosts))
        parts = urllib.parse.urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        pinned = urllib.parse.urlunsplit(
            (scheme, f"{literal}:{port}", parts.path or "/", parts.query, "")
        )
        session = requests.Session()
        # No proxy from the environment: the connection goes to the address checked.
        session.trust_env = False
        session.mount("https://", _PinnedAdapter(host))
        request_headers = dict(
            headers or {},
            Host=host if parts.port is None else f"{host}:{parts.port}",
        )
        try:
            response = session.get(
                pinned,
                headers=request_headers,
                auth=auth,
                stream=True,
                allow_redirects=False,
                timeout=max(1, min(STEP_TIMEOUT, deadline - time.monotonic())),
            )
        except requests.RequestException as exc:
            session.close()
            raise ConnectorError(
                f"the file could not be downloaded from {host} "
                f"({exc.__class__.__name__})"
            ) from None
        with session, response:
            if response.is_redirect:
                location = response.headers.get("Location") or ""
                next_url = urllib.parse.urljoin(url, location)
                if host_of(next_url) != host:
                    headers, auth = None, None  # never hand credentials to another host
                url = next_url
                continue
            if response.status_code != 200:
                raise ConnectorError(
                    f"{host} answered HTTP {response.status_code} for the file"
                )
            limit_mb = max_bytes // (1024 * 1024)
            try:
                announced = int(response.headers.get("Content-Length") or 0)
            except ValueError:
                announced = 0
            if announced > max_bytes:
                raise ConnectorError(f"the file is larger than {limit_mb} MB")
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ConnectorError(f"the file is larger than {limit_mb} MB")
                    if time.monotonic() > deadline:
                        raise ConnectorError(
                            f"the download took longer than {int(timeout)} s"
                        )
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise ConnectorError(
                    f"the download from {host} broke off ({exc.__class__.__name__})"
                ) from None
            content_type = (
                (response.headers.get("Content-Type") or "").split(";")[0].strip()
            )
            return b"".join(chunks), content_type, url
    raise DownloadRefused(f"more than {MAX_REDIRECTS} redirects")
