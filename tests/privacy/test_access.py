"""Users, roles, argon2 passwords, TOTP and API keys."""

from __future__ import annotations

import pyotp
import pytest

from crmlens.exceptions import ConfigError
from crmlens.privacy import AccessControl, AccessDenied, AuditLog, has_permission


@pytest.fixture
def access(engine) -> AccessControl:
    return AccessControl(engine, secret_key="secret-key-for-tests", audit=AuditLog(engine))


def test_roles() -> None:
    assert has_permission("admin", "privacy:erase") and has_permission("admin", "pii:read")
    assert has_permission("analyst", "churn:read") and not has_permission("analyst", "pii:read")
    assert has_permission("marketer", "marketing:write") and not has_permission("marketer", "privacy:erase")
    assert has_permission("support_agent", "pii:read") and not has_permission("support_agent", "churn:read")
    assert has_permission("viewer", "report:read") and not has_permission("viewer", "segment:write")
    assert not has_permission("nobody", "report:read")


def test_password_hashed_with_argon2(access, engine) -> None:
    access.create_user("ana", "correct horse battery", "analyst")
    stored = engine.query("SELECT password_hash FROM users WHERE username = 'ana'").scalar()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert access.authenticate("ana", "correct horse battery").role == "analyst"
    with pytest.raises(AccessDenied):
        access.authenticate("ana", "wrong horse battery")
    with pytest.raises(AccessDenied):
        access.authenticate("nobody", "correct horse battery")
    with pytest.raises(ConfigError, match="too short"):
        access.create_user("bob", "short", "viewer")
    with pytest.raises(ConfigError, match="unknown role"):
        access.create_user("bob", "long enough password", "superuser")


def test_totp_second_factor(access, engine) -> None:
    access.create_user("admin", "admin password long", "admin")
    uri = access.enable_totp("admin")
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    secret = pyotp.parse_uri(uri).secret
    assert secret.encode() not in bytes(engine.query("SELECT totp_secret_enc FROM users").scalar())  # sealed
    with pytest.raises(AccessDenied):
        access.authenticate("admin", "admin password long")  # code missing
    with pytest.raises(AccessDenied):
        access.authenticate(
            "admin", "admin password long", "000000" if pyotp.TOTP(secret).now() != "000000" else "1"
        )
    assert access.authenticate("admin", "admin password long", pyotp.TOTP(secret).now()).totp_enabled


def test_api_keys_stored_hashed_and_revocable(access, engine) -> None:
    access.create_user("svc", "service password long", "marketer")
    key = access.create_api_key("svc")
    assert (
        key.startswith("crm_")
        and key.split("_", 2)[2] not in engine.table("api_keys").to_pandas().to_string()
    )
    assert access.verify_api_key(key).role == "marketer"
    with pytest.raises(AccessDenied):
        access.verify_api_key(key[:-2] + "xx")
    access.revoke_api_key(key)
    with pytest.raises(AccessDenied):
        access.verify_api_key(key)


def test_check_is_audited(access, engine) -> None:
    access.create_user("viv", "viewer password long", "viewer")
    user = access.authenticate("viv", "viewer password long")
    access.check(user, "report:read")
    with pytest.raises(AccessDenied, match="may not pii:read"):
        access.check(user, "pii:read", target="customer:2")
    entries = AuditLog(engine).entries()
    assert [e["action"] for e in entries][-2:] == ["access.report:read", "access.pii:read"]
    assert '"ok": false' in entries[-1]["details"] and AuditLog(engine).verify().ok
