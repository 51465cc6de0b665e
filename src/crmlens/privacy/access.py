"""Users, roles and permissions; argon2 password hashes, TOTP second factor, hashed API keys.

Permissions are ``capability:action`` strings (``churn:read``, ``privacy:erase``) plus the column
class ``pii:read`` that lets a role see clear identifiers (vault reveals). The API and dashboard
call :meth:`AccessControl.authenticate` / :meth:`AccessControl.verify_api_key` and
:func:`has_permission`; every decision worth keeping goes to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, CrmlensError
from crmlens.privacy.audit import AuditLog
from crmlens.privacy.crypto import Sealer

__all__ = ["ROLES", "AccessControl", "AccessDenied", "User", "has_permission"]

CAPABILITIES = (
    "ingest",
    "identity",
    "features",
    "segment",
    "churn",
    "predict",
    "recommend",
    "clv",
    "text",
    "support",
    "anomaly",
    "marketing",
    "report",
    "privacy",
    "audit",
    "users",
)
_ALL_READ = {f"{c}:read" for c in CAPABILITIES if c not in ("users", "audit", "privacy")}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "analyst": frozenset(
        _ALL_READ
        | {
            f"{c}:write"
            for c in (
                "segment",
                "churn",
                "predict",
                "recommend",
                "clv",
                "text",
                "anomaly",
                "features",
                "identity",
                "report",
            )
        }
    ),
    "marketer": frozenset(
        {
            "segment:read",
            "recommend:read",
            "marketing:read",
            "marketing:write",
            "clv:read",
            "churn:read",
            "report:read",
        }
    ),
    "support_agent": frozenset({"support:read", "support:write", "text:read", "pii:read", "privacy:export"}),
    "viewer": frozenset({"report:read", "segment:read"}),
}


class AccessDenied(CrmlensError):
    """A user lacks a permission or gave wrong credentials; the message never says which part was wrong."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    totp_enabled: bool = False


def has_permission(role: str, permission: str) -> bool:
    """Whether ``role`` grants ``permission`` (``capability:action`` or ``pii:read``)."""
    granted = ROLES.get(role, frozenset())
    return "*" in granted or permission in granted


def _api_key_hash(secret: str) -> str:
    # API keys are 256-bit random secrets: a plain SHA-256 cannot be brute-forced and keeps lookups fast.
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessControl:
    """The user store in the warehouse (``users``, ``api_keys``); TOTP secrets sealed with ``secret_key``."""

    def __init__(self, engine: Engine, secret_key: str | bytes, audit: AuditLog | None = None) -> None:
        if not secret_key:
            raise ConfigError(
                "access control: a secret key is required to seal TOTP secrets (CRMLENS_SECRET_KEY)"
            )
        self.engine = engine
        self.audit = audit
        self._sealer = Sealer(secret_key, salt=b"crmlens-access-v1")
        self._hasher = PasswordHasher()
        engine.execute(
            "CREATE TABLE IF NOT EXISTS users (username VARCHAR PRIMARY KEY, role VARCHAR, password_hash VARCHAR, "
            "totp_secret_enc BLOB, disabled BOOLEAN, created_at TIMESTAMP)"
        )
        engine.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (key_id VARCHAR PRIMARY KEY, username VARCHAR, key_hash VARCHAR, "
            "created_at TIMESTAMP, revoked BOOLEAN)"
        )

    def _log(self, actor: str, action: str, target: str, ok: bool) -> None:
        if self.audit is not None:
            self.audit.append(actor, action, target, details={"ok": ok})

    def create_user(self, username: str, password: str, role: str) -> User:
        """Add a user; passwords are stored only as argon2id hashes."""
        if role not in ROLES:
            raise ConfigError(f"access control: unknown role {role!r}; use one of {sorted(ROLES)}")
        if len(password) < 12:
            raise ConfigError("access control: password too short; use at least 12 characters")
        if self.engine.query("SELECT 1 FROM users WHERE username = ?", [username]).scalar():
            raise ConfigError(f"access control: user {username!r} already exists")
        self.engine.execute(
            "INSERT INTO users VALUES (?, ?, ?, NULL, FALSE, ?)",
            [username, role, self._hasher.hash(password), datetime.now(UTC).replace(tzinfo=None)],
        )
        self._log("system", "users.create", username, True)
        return User(username, role)

    def _row(self, username: str) -> dict | None:
        frame = self.engine.query("SELECT * FROM users WHERE username = ?", [username]).to_pandas()
        return None if frame.empty else frame.iloc[0].to_dict()

    def enable_totp(self, username: str, issuer: str = "crmlens") -> str:
        """Turn on two-factor login; returns the otpauth:// URI to show once as a QR code."""
        if self._row(username) is None:
            raise ConfigError(f"access control: no user {username!r}")
        secret = pyotp.random_base32()
        self.engine.execute(
            "UPDATE users SET totp_secret_enc = ? WHERE username = ?",
            [self._sealer.seal(secret, f"totp:{username}"), username],
        )
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)

    def authenticate(self, username: str, password: str, totp_code: str | None = None) -> User:
        """The user, if the password (and the TOTP code, when enabled) are right; else AccessDenied."""
        row = self._row(username)
        ok = False
        if row is not None and not row["disabled"]:
            try:
                ok = self._hasher.verify(row["password_hash"], password)
            except (VerificationError, InvalidHashError):
                ok = False
        totp = row is not None and row["totp_secret_enc"] is not None
        if ok and totp and row is not None:
            secret = self._sealer.open(bytes(row["totp_secret_enc"]), f"totp:{username}")
            ok = totp_code is not None and pyotp.TOTP(secret).verify(totp_code, valid_window=1)
        self._log(username, "auth.login", username, ok)
        if not ok or row is None:
            raise AccessDenied("login failed: wrong user name, password or code")
        if self._hasher.check_needs_rehash(row["password_hash"]):
            self.engine.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                [self._hasher.hash(password), username],
            )
        return User(username, str(row["role"]), bool(totp))

    def totp_now(self, username: str) -> str:
        """The current code (for tests and first-time setup checks)."""
        row = self._row(username)
        if row is None or row["totp_secret_enc"] is None:
            raise ConfigError(f"access control: two-factor login is not enabled for {username!r}")
        return pyotp.TOTP(self._sealer.open(bytes(row["totp_secret_enc"]), f"totp:{username}")).now()

    def create_api_key(self, username: str) -> str:
        """A new API key ``crm_<id>_<secret>``; shown once, stored only as a hash."""
        if self._row(username) is None:
            raise ConfigError(f"access control: no user {username!r}")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        self.engine.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, FALSE)",
            [key_id, username, _api_key_hash(secret), datetime.now(UTC).replace(tzinfo=None)],
        )
        self._log(username, "api_key.create", key_id, True)
        return f"crm_{key_id}_{secret}"

    def verify_api_key(self, api_key: str) -> User:
        """The user behind an API key, or AccessDenied (unknown, revoked, or the user disabled)."""
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "crm":
            raise AccessDenied("invalid API key")
        frame = self.engine.query(
            "SELECT k.key_hash, k.revoked, u.username, u.role, u.disabled FROM api_keys k JOIN users u "
            "ON u.username = k.username WHERE k.key_id = ?",
            [parts[1]],
        ).to_pandas()
        if frame.empty:
            raise AccessDenied("invalid API key")
        row = frame.iloc[0]
        if (
            row["revoked"]
            or row["disabled"]
            or not hmac.compare_digest(row["key_hash"], _api_key_hash(parts[2]))
        ):
            raise AccessDenied("invalid API key")
        return User(str(row["username"]), str(row["role"]))

    def revoke_api_key(self, api_key_or_id: str) -> None:
        key_id = api_key_or_id.split("_", 2)[1] if api_key_or_id.startswith("crm_") else api_key_or_id
        self.engine.execute("UPDATE api_keys SET revoked = TRUE WHERE key_id = ?", [key_id])

    def check(self, user: User, permission: str, target: str = "") -> None:
        """Raise AccessDenied unless ``user``'s role grants ``permission``; the decision is audited."""
        ok = has_permission(user.role, permission)
        self._log(user.username, f"access.{permission}", target, ok)
        if not ok:
            raise AccessDenied(f"user {user.username!r} (role {user.role}) may not {permission}")
