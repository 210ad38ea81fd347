"""DKIM (RFC 6376): every campaign email is signed before it leaves, so mailbox providers can
tell it really comes from its From domain (Gmail and Yahoo refuse unsigned bulk mail).

rsa-sha256 with relaxed/relaxed canonicalisation, written here over `cryptography`'s RSA
(OpenSSL): dkimpy's pure-Python RSA costs more than the whole send, on the event loop
(`make bench-dkim`). dkimpy's verifier checks what this signs, in the tests, on every kind of
message the MIME writer makes.

One key and selector sign for DKIM_DOMAIN and for each domain an owner's own From address may
be on (EMAIL_SENDER_DOMAINS): those publish the key through a CNAME to DKIM_DOMAIN's record,
so `d=` always matches the From domain (DMARC alignment)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from rebook.config import Settings

# What the signature covers. RFC 8058 §4 requires both List-Unsubscribe headers in `h=`; a
# header named here but absent is signed as absent, so it cannot be added on the way.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
    b"mime-version",
    b"content-type",
)


_WSP_RUN = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4: runs of whitespace as one space, none at line ends, no empty lines at
    the end, and a final CRLF."""
    lines = [_WSP_RUN.sub(b" ", line).rstrip(b" ") for line in body.split(b"\r\n")]
    while lines and not lines[-1]:
        lines.pop()
    return b"".join(line + b"\r\n" for line in lines)


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: the name in lower case, the value unfolded, whitespace runs as one
    space, none around the colon nor at the end."""
    unfolded = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value)).strip(b" ")
    return name.strip().lower() + b":" + unfolded


def _headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, value) of each header, values as written (folded lines included)."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    private_key: bytes  # PEM
    default_domain: str
    domains: frozenset[str]
    _key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = serialization.load_pem_private_key(self.private_key, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("DKIM_PRIVATE_KEY_FILE must hold an RSA private key")
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        if not settings.dkim_private_key_file:
            return None
        return cls(
            selector=settings.dkim_selector,
            private_key=Path(settings.dkim_private_key_file).read_bytes(),
            default_domain=settings.dkim_domain.lower(),
            domains=frozenset(settings.sender_domains()),
        )

    def domain_for(self, from_address: str) -> str:
        """`d=`: the From address's domain when the key may sign for it, else DKIM_DOMAIN."""
        domain = from_address.rpartition("@")[2].lower()
        return domain if domain in self.domains else self.default_domain

    def sign(self, message: bytes, from_address: str, now: float | None = None) -> bytes:
        """The message with its DKIM-Signature header first. Relaxed canonicalisation of
        both header and body: relays may refold headers or trim trailing spaces."""
        head, _, body = message.partition(b"\r\n\r\n")
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        fields = _headers(head)
        # Each name signs its last instance; a name absent is signed as absent (RFC 6376
        # §5.4.2), so it cannot be added on the way.
        remaining = list(fields)
        signed = []
        for name in SIGNED_HEADERS:
            for i in range(len(remaining) - 1, -1, -1):
                if remaining[i][0].strip().lower() == name:
                    signed.append(relaxed_header(*remaining.pop(i)))
                    break
        tags = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain_for(from_address)};"
            f" s={self.selector};\r\n t={int(now if now is not None else time.time())};"
            f" h={':'.join(n.decode() for n in SIGNED_HEADERS)};\r\n"
            f" bh={body_hash.decode()};\r\n b="
        ).encode()
        to_sign = b"".join(line + b"\r\n" for line in signed)
        to_sign += relaxed_header(b"DKIM-Signature", b" " + tags)
        signature = base64.b64encode(self._key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()))
        folded = b"\r\n ".join(signature[i : i + 72] for i in range(0, len(signature), 72))
        return b"DKIM-Signature: " + tags + folded + b"\r\n" + message


@dataclass(frozen=True)
class NewKey:
    private_pem: bytes
    dns_name: str
    dns_value: str


def new_key(domain: str, selector: str, bits: int = 2048) -> NewKey:
    """An RSA key for DKIM and the TXT record that publishes its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return NewKey(
        private_pem=private_pem,
        dns_name=f"{selector}._domainkey.{domain}",
        dns_value=f"v=DKIM1; k=rsa; p={base64.b64encode(public_der).decode('ascii')}",
    )
