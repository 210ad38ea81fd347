"""DKIM (RFC 6376): every campaign email is signed before it leaves, so mailbox providers can
tell it really comes from its From domain (Gmail and Yahoo refuse unsigned bulk mail).

One key and selector sign for DKIM_DOMAIN and for each domain an owner's own From address may
be on (EMAIL_SENDER_DOMAINS): those publish the key through a CNAME to DKIM_DOMAIN's record,
so `d=` always matches the From domain (DMARC alignment)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    private_key: bytes  # PEM
    default_domain: str
    domains: frozenset[str]

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

    def sign(self, message: bytes, from_address: str) -> bytes:
        """The message with its DKIM-Signature header first. Relaxed canonicalisation of
        both header and body: relays may refold headers or trim trailing spaces."""
        signature: bytes = dkim.sign(
            message,
            self.selector.encode(),
            self.domain_for(from_address).encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + message


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
