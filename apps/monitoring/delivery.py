"""Delivering the notification outbox: e-mail through Django's mail, webhooks with httpx2 (the project's HTTP
client), a short timeout, retries with a growing wait. Off the request path: a small thread pool picks up what a
request queued once its transaction committed, and ``evaluate_alerts`` delivers whatever is due (retries, and
everything when the pool is off: ``MONITORING_NOTIFY_THREADS=0``).

The webhook's body is JSON; ``X-AIRisk-Timestamp`` holds the Unix time of the attempt and ``X-AIRisk-Signature``
``sha256=`` + the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under the rule's secret (docs/monitoring.md shows
how to verify it).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, connection
from django.utils import timezone

from apps.monitoring.models import Channel, DeliveryStatus, IssueChange, Notification

logger = logging.getLogger("apps.monitoring")

MAX_ATTEMPTS = 5
# Wait before attempt n+1: 1, 5, 30, 120 minutes.
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
# A notification left "sending" this long (its process died) is due again.
STALE_SENDING = timedelta(minutes=10)
SIGNATURE_HEADER = "X-AIRisk-Signature"
TIMESTAMP_HEADER = "X-AIRisk-Timestamp"

INTERNAL_WEBHOOK_MESSAGE = (
    "The webhook's address {host} is internal (loopback, private or link-local). Use a public address, or ask the "
    "server's operator to set MONITORING_WEBHOOK_ALLOW_PRIVATE=true."
)

_executor: ThreadPoolExecutor | None = None


def _internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def is_internal_host(host: str | None) -> bool:
    """True for "localhost" and for an IP address that is not a public unicast one. A name is not resolved here."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _internal_address(host)
    except ValueError:
        return False  # a name: judged on its addresses when sent


def _check_target(url: str) -> None:
    """Refuse a webhook whose host is, or resolves to, an internal address (unless the operator allows it)."""
    if settings.MONITORING_WEBHOOK_ALLOW_PRIVATE:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if is_internal_host(host):
        raise DeliveryError(INTERNAL_WEBHOOK_MESSAGE.format(host=host))
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError:
        raise DeliveryError(f"The webhook's host name {host} could not be resolved.") from None
    if any(_internal_address(info[4][0]) for info in infos):
        raise DeliveryError(INTERNAL_WEBHOOK_MESSAGE.format(host=host))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (docs/monitoring.md): the signature matches and the timestamp is recent."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def deliver_in_background(ids: list[int]) -> None:
    """Hand freshly queued notifications to the pool (called on commit); without a pool the command sends them."""
    global _executor
    threads = settings.MONITORING_NOTIFY_THREADS
    if not ids or threads <= 0:
        return
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="airisk-notify")
    _executor.submit(_deliver_in_thread, list(ids))


def _deliver_in_thread(ids: list[int]) -> None:
    try:
        for pk in ids:
            deliver_one(pk)
    except Exception:
        logger.exception("Notification delivery failed")
    finally:
        connection.close()  # the pool's thread keeps no connection open between jobs


def wait_for_background(timeout: float = 10.0) -> None:
    """Tests and shutdown: wait until the pool has sent what it was given."""
    global _executor
    if _executor is not None:
        executor, _executor = _executor, None
        executor.shutdown(wait=True, cancel_futures=False)


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send every notification that is due (new, to be retried, or stuck "sending"). Returns counts."""
    now = now or timezone.now()
    Notification.objects.filter(status=DeliveryStatus.SENDING, next_attempt__lte=now - STALE_SENDING).update(
        status=DeliveryStatus.PENDING
    )
    due = list(
        Notification.objects.filter(status=DeliveryStatus.PENDING, next_attempt__lte=now)
        .order_by("next_attempt", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "failed": 0, "retry": 0}
    for pk in due:
        result = deliver_one(pk, now=now)
        if result:
            counts[result] += 1
    return counts


def _claim(pk: int, now: datetime) -> Notification | None:
    """Take the notification for this process (a conditional update: two workers never send one twice)."""
    claimed = Notification.objects.filter(pk=pk, status=DeliveryStatus.PENDING, next_attempt__lte=now).update(
        status=DeliveryStatus.SENDING, next_attempt=now
    )
    if not claimed:
        return None
    return Notification.objects.select_related("issue", "issue__rule", "issue__company").get(pk=pk)


def deliver_one(pk: int, *, now: datetime | None = None) -> str | None:
    """One attempt. Returns "sent", "retry", "failed", or None when it was not due (or someone else sends it)."""
    close_old_connections()
    now = now or timezone.now()
    notification = _claim(pk, now)
    if notification is None:
        return None
    try:
        status_code = _send(notification)
        error = ""
    except DeliveryError as exc:
        status_code, error = exc.status, str(exc)
    except Exception as exc:  # a mail server's or network's own error
        status_code, error = None, f"{type(exc).__name__}: {exc}"
    notification.attempts += 1
    notification.response_status = status_code
    notification.last_error = error[:500]
    if not error:
        notification.status = DeliveryStatus.SENT
        notification.sent_at = timezone.now()
        result = "sent"
    elif notification.attempts >= MAX_ATTEMPTS:
        notification.status = DeliveryStatus.FAILED
        result = "failed"
    else:
        notification.status = DeliveryStatus.PENDING
        notification.next_attempt = now + RETRY_WAITS[min(notification.attempts - 1, len(RETRY_WAITS) - 1)]
        result = "retry"
    notification.save(update_fields=["attempts", "response_status", "last_error", "status", "sent_at", "next_attempt"])
    if result != "retry":
        what = f"{notification.get_channel_display()} {'sent' if result == 'sent' else 'failed: ' + error}"
        IssueChange.objects.create(
            company_id=notification.company_id,
            issue_id=notification.issue_id,
            actor_label="AIRisk",
            field="notified",
            after=what[:300],
        )
    return result


class DeliveryError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _send(notification: Notification) -> int | None:
    if notification.channel == Channel.EMAIL:
        return _send_email(notification)
    return _send_webhook(notification)


def _send_email(notification: Notification) -> None:
    recipients = [address.strip() for address in notification.target.split(",") if address.strip()]
    if not recipients:
        raise DeliveryError("The company has no monitor or admin with an e-mail address.")
    issue = notification.payload.get("issue", {})
    subject = f"[AIRisk {issue.get('severity', '').upper()}] {issue.get('title', 'New issue')}"[:200]
    lines = [
        f"A monitoring rule opened an issue in {notification.issue.company.name}.",
        "",
        f"Issue:     {issue.get('title')}",
        f"Severity:  {issue.get('severity')}",
        f"Rule:      {(issue.get('rule') or {}).get('name', '')}",
        f"Condition: {issue.get('condition')}",
        f"First seen: {issue.get('firstSeen')}",
        "",
        f"Open the issue in AIRisk: {settings.PORTAL_URL}/monitoring/issues/{issue.get('id')}/",
    ]
    send_mail(subject, "\n".join(lines), None, recipients, fail_silently=False)
    return None


def _send_webhook(notification: Notification) -> int:
    rule = notification.issue.rule
    if rule is None or not rule.webhook_secret:
        raise DeliveryError("The rule was deleted or has no webhook secret any more.")
    body = json.dumps(notification.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "AIRisk-Webhook/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(rule.webhook_secret, timestamp, body),
    }
    timeout = float(settings.MONITORING_WEBHOOK_TIMEOUT_SECONDS)
    _check_target(notification.target)
    try:
        with httpx2.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(notification.target, content=body, headers=headers)
    except httpx2.TimeoutException:
        raise DeliveryError(f"No answer within {timeout:g} seconds.") from None
    except httpx2.HTTPError as exc:
        raise DeliveryError(f"Could not reach the webhook: {type(exc).__name__}.") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"The webhook answered HTTP {response.status_code}.", response.status_code)
    return response.status_code
