"""Client tokens: what `python -m photolib.auth issue` prints is what photolib.auth accepts, and nothing else is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lightbox.template.loader import load_template
from photolib import auth
from photolib.config import Settings
from photolib.exceptions import Unauthorized
from photolib.models import HttpApiEvent

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"


def request(headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> HttpApiEvent:
    return HttpApiEvent.model_validate({
        "rawPath": "/photos", "headers": headers, "queryStringParameters": query,
        "requestContext": {"http": {"method": "GET", "path": "/photos"}},
    })


def test_issue_prints_what_the_app_accepts_with_the_templates_secret(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKEN_SECRET", raising=False)
    assert auth.main(["issue", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    secret = load_template(TEMPLATE).function("UploadFunction").environment["TOKEN_SECRET"]
    assert secret == auth.DEV_SECRET  # the template's development default is the one printed with
    assert auth.verify(token, secret, max_age=60) == "alice"

    monkeypatch.setenv("TOKEN_SECRET", "from-the-environment-0123")
    assert auth.main(["issue", "bob"]) == 0
    token = capsys.readouterr().out.strip()
    assert auth.verify(token, "from-the-environment-0123", max_age=60) == "bob"
    with pytest.raises(Unauthorized) as err:
        auth.verify(token, secret, max_age=60)
    assert err.value.code == "invalid_token"


def test_issue_refuses_a_client_id_that_could_not_be_a_key_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert auth.main(["issue", "../bob", "--secret", "s" * 16]) == 2
    assert "A-Z a-z 0-9" in capsys.readouterr().err


def test_header_or_where_allowed_query_token_names_the_client() -> None:
    settings = Settings(token_secret="s" * 16)
    token = auth.issue("carol", settings.token_secret)
    assert auth.client_of(request({"Authorization": f"Bearer {token}"}), settings) == "carol"
    assert auth.client_of(request(query={"access_token": token}), settings, query_token=True) == "carol"
    # Elsewhere a token in the URL is not taken: URLs end up in logs and Referer headers.
    with pytest.raises(Unauthorized) as err:
        auth.client_of(request(query={"access_token": token}), settings)
    assert err.value.code == "missing_token"


@pytest.mark.parametrize(("headers", "query", "code"), [
    (None, None, "missing_token"),
    ({"authorization": "Basic YTpi"}, None, "missing_token"),
    ({"authorization": "Bearer not-a-token"}, None, "invalid_token"),
    (None, {"access_token": auth.issue("carol", "another-secret-0123")}, "invalid_token"),
])
def test_missing_or_forged_tokens_are_unauthorized(headers: dict[str, str] | None, query: dict[str, str] | None,
                                                   code: str) -> None:
    with pytest.raises(Unauthorized) as err:
        auth.client_of(request(headers, query), Settings(token_secret="s" * 16), query_token=True)
    assert err.value.code == code


def test_an_old_token_is_expired() -> None:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 120  # signed two minutes ago

    token = URLSafeTimedSerializer("s" * 16, salt=auth.SALT, signer=Past).dumps({"client_id": "carol"})
    assert auth.verify(token, "s" * 16, max_age=300) == "carol"
    with pytest.raises(Unauthorized) as err:
        auth.verify(token, "s" * 16, max_age=60)
    assert err.value.code == "expired_token"
