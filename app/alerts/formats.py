"""What a notice looks like at each kind of webhook, and how each kind signs it.

- `json`: the alert as `GET /api/v1/alerts` shows it, with `notice` (`raised`, `resolved`).
- DingTalk custom robot: `{"msgtype": "markdown", ...}`; with a secret, `timestamp` (ms) and
  `sign` = base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")) are added to the URL.
- Feishu (Lark) custom bot: `{"msg_type": "text", ...}`; with a secret, the body carries
  `timestamp` (s) and `sign` = base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg="")).
- WeCom group robot: `{"msgtype": "markdown", ...}` (the key in its URL is its only secret).

Robots answer HTTP 200 with an error code in the body when they refuse (a bad signature, a
rate limit); that counts as a failed delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import msgspec


@dataclass(frozen=True)
class Request:
    """One HTTP POST to make."""

    url: str
    body: bytes
    headers: dict[str, str]


def _sign(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature for `timestamp_ms`."""
    return _sign(secret.encode(), f"{timestamp_ms}\n{secret}".encode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's bot signature for `timestamp_s` (the key is the string, the message empty)."""
    return _sign(f"{timestamp_s}\n{secret}".encode(), b"")


def webhook_request(
    fmt: str,
    url: str,
    secret: str | None,
    alert: dict[str, Any],
    notice: str,
    title: str,
    text: str,
    now_s: float,
) -> Request:
    """The POST that delivers `alert` (`notice`: raised or resolved) in format `fmt`."""
    headers = {"Content-Type": "application/json"}
    body: dict[str, Any]
    if fmt == "dingtalk":
        body = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": f"### {title}\n\n{text}"},
        }
        if secret:
            ts = int(now_s * 1000)
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}timestamp={ts}&sign={quote_plus(dingtalk_sign(secret, ts))}"
    elif fmt == "feishu":
        body = {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
        if secret:
            ts = int(now_s)
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    elif fmt == "wecom":
        body = {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    else:
        body = {"notice": notice, "alert": alert, "title": title, "text": text}
    return Request(url, msgspec.json.encode(body), headers)


def refusal(fmt: str, status: int, body: bytes) -> str | None:
    """Why the receiver refused the POST, or None when it took it."""
    if not 200 <= status < 300:
        return f"HTTP {status}: {body[:200].decode(errors='replace')}"
    if fmt not in ("dingtalk", "feishu", "wecom"):
        return None
    try:
        reply = msgspec.json.decode(body) if body else {}
    except msgspec.DecodeError:
        return None
    if not isinstance(reply, dict):
        return None
    code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
    if code in (0, None):
        return None
    return f"{fmt} error {code}: {reply.get('errmsg') or reply.get('msg') or ''}".strip()
