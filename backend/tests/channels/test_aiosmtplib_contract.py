"""`channels/smtp_pipelining.py` drives aiosmtplib's private protocol state: it is correct only
for the aiosmtplib code it was written and tested against. These tests fail when another
aiosmtplib is installed (an upgrade within the pinned range included) until someone has read
the new code and updated `ASSUMED`."""

from __future__ import annotations

import hashlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol
from packaging.requirements import Requirement

from rebook.channels.smtp_pipelining import ASSUMED

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
OWNERS = {"SMTPProtocol": SMTPProtocol, "SMTP": aiosmtplib.SMTP}


def fingerprint(qualname: str) -> str:
    owner, name = qualname.split(".")
    source = inspect.getsource(getattr(OWNERS[owner], name))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def test_the_aiosmtplib_methods_pipelining_relies_on_are_those_it_was_written_against() -> None:
    changed = {name for name, expected in ASSUMED.items() if fingerprint(name) != expected}
    assert changed == set(), (
        f"aiosmtplib {version('aiosmtplib')} changed {sorted(changed)}: check "
        "smtp_pipelining.py against the new code, then record the new fingerprints"
    )


def test_aiosmtplib_is_pinned_to_a_range_that_holds_the_installed_version() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pinned = next(Requirement(d) for d in dependencies if d.startswith("aiosmtplib"))
    upper = [spec for spec in pinned.specifier if spec.operator in ("<", "<=", "==")]

    assert upper, "aiosmtplib needs an upper bound: pipelining depends on its private parts"
    assert pinned.specifier.contains(version("aiosmtplib"))
