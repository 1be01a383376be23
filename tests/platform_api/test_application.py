"""``/v1/application/settings``: feature toggles and how websocket sessions authenticate."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.factories import public_pem


def test_signed_token_sessions_need_a_public_key(api, application):
    # when the tenant asks for signed tokens without a key, then with a malformed one
    missing = api.put("/v1/application/settings", {"sessionAuthentication": "SIGNED_TOKEN"})
    malformed = api.put(
        "/v1/application/settings", {"sessionAuthentication": "SIGNED_TOKEN", "sessionTokenPublicKey": "not a key"}
    )
    unknown = api.put("/v1/application/settings", {"sessionAuthentication": "PASSWORD"})

    # then each is refused, naming the field, and nothing changes
    assert (missing.status_code, missing.json()["error"]) == (400, "BadRequestError")
    assert "sessionTokenPublicKey" in missing.json()["message"]
    assert malformed.status_code == 400
    assert "sessionTokenPublicKey" in malformed.json()["message"]
    assert unknown.status_code == 400
    assert "sessionAuthentication" in unknown.json()["message"]
    application.refresh_from_db()
    assert application.session_authentication == "UNSECURED"


def test_a_private_key_is_refused_and_a_public_one_is_kept(api, application):
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    refused = api.put(
        "/v1/application/settings", {"sessionAuthentication": "SIGNED_TOKEN", "sessionTokenPublicKey": private_pem}
    )
    assert refused.status_code == 400

    accepted = api.put(
        "/v1/application/settings",
        {"sessionAuthentication": "SIGNED_TOKEN", "sessionTokenPublicKey": public_pem(private)},
    )

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["sessionAuthentication"] == "SIGNED_TOKEN"
    assert accepted.json()["sessionTokenPublicKey"] == public_pem(private).strip()
    assert api.get("/v1/application/settings").json()["sessionAuthentication"] == "SIGNED_TOKEN"
