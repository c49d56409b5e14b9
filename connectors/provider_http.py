"""The one HTTP path between a connector and its provider.

Every provider's API call goes through :meth:`ProviderHttp.http` (timeouts,
a network failure mapped to an error the caller chooses), its answer through
:meth:`ProviderHttp.json_answer` when the provider speaks JSON, and every
file a payload names through :meth:`ProviderHttp.download`, which is the
checked path of :func:`.safe_http.fetch`.  Connectors are thin API classes
on top of it, like Odoo's ``sms/tools/sms_api.py``.
"""

from __future__ import annotations

import requests

from .errors import SendError
from .safe_http import fetch, host_of

#: seconds an API call may wait on the provider, unless the caller says
DEFAULT_TIMEOUT = 15


def _unreachable(name):
    return SendError(
        f"could not reach the provider ({name})", code="network", retryable=True
    )


class ProviderHttp:
    """HTTP helpers of :class:`.interface.Connector` (``self.config`` is the
    channel's :class:`.events.ChannelConfig`)."""

    #: the provider's API root, used when the channel sets no ``base_url``
    #: (tests and sandboxes point ``base_url`` at a fake server)
    default_api_root = ""

    def api_root(self) -> str:
        """The API root of this channel, without a trailing slash."""
        return (self.config.base_url or self.default_api_root).rstrip("/")

    @staticmethod
    def http(
        method: str,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        unreachable=_unreachable,
        **kwargs,
    ):
        """One HTTP exchange with the provider (``requests``).  A network
        failure raises ``unreachable(<exception class name>)``: by default a
        retryable :class:`SendError`.  Callers never put a secret in ``url``
        (tokens travel in headers or bodies), so the error text is safe to
        show and log."""
        try:
            return requests.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise unreachable(exc.__class__.__name__) from None

    @staticmethod
    def json_answer(response, provider: str):
        """The JSON body of a provider's answer.  Unavailability (5xx, 429)
        and an answer that is not JSON are retryable SendErrors; the caller
        reads the provider's own error format from what is returned."""
        status = response.status_code
        if status == 429:
            # Too Many Requests: the whole channel waits what the provider asks
            # (Retry-After)
            raise SendError(
                f"{provider} limits the sending rate (HTTP 429)",
                code="http_429",
                retryable=True,
                retry_after=ProviderHttp.retry_after_header(response),
            )
        if status >= 500:
            raise SendError(
                f"{provider} is unavailable (HTTP {status})",
                code=f"http_{status}",
                retryable=True,
            )
        try:
            return response.json()
        except ValueError:
            raise SendError(
                f"{provider} answered HTTP {status} without JSON",
                code=f"http_{status}",
                retryable=True,
            ) from None

    @staticmethod
    def retry_after_header(response, default: float = 1.0) -> float:
        """Seconds of an HTTP Retry-After header (the seconds form; a date or
        nothing gives ``default``)."""
        try:
            return max(float(response.headers.get("Retry-After")), default)
        except (TypeError, ValueError):
            return default

    def download_hosts(self):
        """(allowed, trusted) hosts a file named by a payload may be fetched
        from (see :mod:`.safe_http`): the provider's ``media_hosts`` and
        the hosts an administrator listed on the channel; trusted, that is
        also on a private network, are the channel's API address (the API
        calls go there already; tests point it at their fake server) and the
        listed hosts when the channel allows its private network (a PBX)."""
        listed = [h for h in (self.config.extra.get("media_hosts") or []) if h]
        trusted = [host for host in [host_of(self.config.base_url)] if host]
        if self.config.extra.get("media_private"):
            trusted += listed
        return list(self.media_hosts) + listed, trusted

    def download(
        self,
        url: str,
        max_bytes: int = 25 * 1024 * 1024,
        headers=None,
        auth=None,
    ) -> tuple[bytes, str]:
        """Fetch a media file by URL: (data, content type), through the one
        checked path of :func:`.safe_http.fetch` (allowed hosts only, no
        private addresses, size and time caps)."""
        allowed, trusted = self.download_hosts()
        data, content_type, _url = fetch(
            url, allowed, trusted, max_bytes=max_bytes, headers=headers, auth=auth
        )
        return data, content_type
