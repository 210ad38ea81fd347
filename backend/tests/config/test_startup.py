"""What an operator sees when a setting is wrong: `rebook` refuses to start, names the
setting and says why, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rebook.config import Settings
from tests.fakes.net import free_port
from tests.fakes.twilio import AUTH_TOKEN, signed_callback

REBOOK = Path(sys.executable).parent / "rebook"
PRIVATE_SECRET = "a-private-secret-for-this-test-only-0123456789"


def run_rebook(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`rebook ARGS` with only `env`'s settings (run where no `.env` file is)."""
    ours = {name.upper() for name in Settings.model_fields}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [str(REBOOK), *args],
        env={**clean, **env},
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestRefusesToStart:
    def test_production_with_an_http_public_url_is_refused(self) -> None:
        result = run_rebook(
            "serve",
            ENVIRONMENT="production",
            SECRET_KEY=PRIVATE_SECRET,
            PUBLIC_BASE_URL="http://rebook.example.com",
        )

        assert result.returncode == 2
        assert result.stderr.startswith(
            "Rebook cannot start: PUBLIC_BASE_URL must be an https:// address in production "
            "(it is 'http://rebook.example.com')"
        )
        assert "RFC 8058" in result.stderr
        assert "Traceback" not in result.stderr

    def test_production_without_a_public_url_is_refused(self) -> None:
        result = run_rebook("worker", ENVIRONMENT="production", SECRET_KEY=PRIVATE_SECRET)

        assert result.returncode == 2
        assert "PUBLIC_BASE_URL must be an https:// address in production" in result.stderr

    def test_a_whatsapp_number_that_is_not_e164_is_refused(self) -> None:
        result = run_rebook("serve", TWILIO_WHATSAPP_NUMBER="whatsapp:4155238886")

        assert result.returncode == 2
        assert result.stderr.strip() == (
            "Rebook cannot start: TWILIO_WHATSAPP_NUMBER 'whatsapp:4155238886' is not a valid "
            "phone number in international (E.164) form, such as +14155238886 or "
            "whatsapp:+14155238886"
        )


class TestSettings:
    @pytest.mark.parametrize(
        "given", ["+14155238886", "whatsapp:+14155238886", " whatsapp:+1 415-523-8886 "]
    )
    def test_the_whatsapp_sender_is_read_in_both_forms(self, given: str) -> None:
        assert Settings(twilio_whatsapp_number=given).twilio_whatsapp_number == "+14155238886"

    @pytest.mark.parametrize(
        ("host", "port", "url"),
        [
            ("127.0.0.1", 8104, "http://127.0.0.1:8104"),
            ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
            ("::1", 8104, "http://[::1]:8104"),
            ("rebook.local", 80, "http://rebook.local:80"),
        ],
    )
    def test_the_public_url_defaults_to_where_rebook_listens(
        self, host: str, port: int, url: str
    ) -> None:
        assert Settings(host=host, port=port, public_base_url="").public_base_url == url

    def test_a_public_url_that_is_set_wins(self) -> None:
        settings = Settings(port=8104, public_base_url="https://book.example.com/")
        assert settings.public_base_url == "https://book.example.com"

    def test_production_with_https_starts(self) -> None:
        settings = Settings(
            environment="production",
            secret_key=PRIVATE_SECRET,
            public_base_url="https://book.example.com",
        )
        assert settings.public_base_url == "https://book.example.com"


class TestServeListensWhereItLinks:
    def test_serve_on_another_port_signs_twilio_urls_on_that_port(self, database_url: str) -> None:
        """`rebook serve --port N` without PUBLIC_BASE_URL: Twilio's signature, computed over
        the URL Twilio was given, checks against http://127.0.0.1:N, the address it serves."""
        port = free_port()
        inbound = f"http://127.0.0.1:{port}/api/v1/webhooks/twilio/inbound"
        ours = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k not in ours}
        env.update(DATABASE_URL=database_url, TWILIO_AUTH_TOKEN=AUTH_TOKEN, LOG_LEVEL="WARNING")
        server = subprocess.Popen(
            [str(REBOOK), "serve", "--port", str(port), "--no-worker"],
            env=env,
            cwd=Path(__file__).parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, "rebook serve exited"
                    assert time.monotonic() < deadline, "rebook serve did not start in 60 s"
                    time.sleep(0.2)
            params = {"From": "whatsapp:+33612345678", "Body": "Hello", "MessageSid": "SM1"}

            answer = httpx.post(inbound, data=params, headers=signed_callback(inbound, params))

            assert answer.status_code == 200
            assert answer.text.endswith("<Response/>")
        finally:
            server.terminate()
            out, _ = server.communicate(timeout=20)
        assert f"Rebook is running at http://127.0.0.1:{port}/" in out
