"""Reading what mail servers send back: delivery status notifications (RFC 3464) and
feedback-loop complaint reports (ARF, RFC 5965). Pure parsing: which message each report is
about and what it says; what to do about it is `service.py`'s."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from typing import Literal

Kind = Literal["hard", "soft", "complaint"]

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Report:
    kind: Kind
    detail: str  # "5.1.1 smtp; 550 5.1.1 No such user" or "abuse"
    # The recipient the report names, when it names one (lower case).
    recipient: str | None
    # Identifies our message: its Message-ID, and its envelope sender (VERP) when given.
    message_id: str | None
    return_path: str | None


def parse(data: bytes) -> list[Report]:
    """The reports in one received email: one per failed recipient of a DSN, one for an
    ARF report; none for anything else (an auto-reply, a delay notice, spam)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if message.get_content_type() != "multipart/report":
        return []
    report_type = (message.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    if report_type == "delivery-status":
        return _dsn(message)
    if report_type == "feedback-report":
        return _arf(message)
    return []


def _parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _original(message: Message) -> tuple[str | None, str | None]:
    """The Message-ID and Return-Path of the original message a report includes (whole, as
    message/rfc822, or its headers, as text/rfc822-headers)."""
    for part in _parts(message):
        kind = part.get_content_type()
        original: Message | None = None
        if kind == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            original = first if isinstance(first, Message) else None
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                original = email.message_from_bytes(text, policy=email.policy.default)
        if original is not None:
            message_id = original.get("Message-ID")
            return_path = original.get("Return-Path")
            return (
                str(message_id).strip() if message_id else None,
                str(return_path).strip().strip("<>") if return_path else None,
            )
    return None, None


def _address(field: str | None) -> str | None:
    """`rfc822; camille@example.com` → `camille@example.com`."""
    if not field:
        return None
    value = str(field).rpartition(";")[2].strip().strip("<>").lower()
    return value or None


def _dsn(message: EmailMessage) -> list[Report]:
    message_id, return_path = _original(message)
    reports = []
    for part in _parts(message):
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        # The first block is about the message; each later one about a recipient.
        for block in blocks[1:]:
            if not isinstance(block, Message):
                continue
            action = str(block.get("Action", "")).strip().lower()
            if action != "failed":  # delayed, delivered, relayed, expanded: not a bounce
                continue
            status = _STATUS.search(str(block.get("Status", "")))
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            code = status.group(0) if status else "5.0.0"
            reports.append(
                Report(
                    kind="hard" if code.startswith("5") else "soft",
                    detail=f"{code} {diagnostic}".strip()[:500],
                    recipient=_address(block.get("Final-Recipient"))
                    or _address(block.get("Original-Recipient")),
                    message_id=message_id,
                    return_path=return_path,
                )
            )
    return reports


def _arf(message: EmailMessage) -> list[Report]:
    message_id, return_path = _original(message)
    for part in _parts(message):
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = part.get_payload()
        block = fields[0] if isinstance(fields, list) and fields else None
        if not isinstance(block, Message):
            # Some parsers leave the part as text: read its header lines.
            raw = part.get_payload(decode=True)
            if not isinstance(raw, bytes):
                return []
            block = email.message_from_bytes(raw, policy=email.policy.default)
        feedback_type = str(block.get("Feedback-Type", "abuse")).strip().lower()
        if feedback_type not in ("abuse", "fraud", "virus", "other", ""):
            return []  # not-spam, auth-failure: no complaint about the recipient's wish
        return [
            Report(
                kind="complaint",
                detail=feedback_type or "abuse",
                recipient=_address(block.get("Original-Rcpt-To")),
                message_id=message_id,
                return_path=return_path,
            )
        ]
    return []
