"""Console accounts: Argon2id password hashes (cryptography's KDF), three roles, kept in the store (hosted: the
platform's schema)."""

from __future__ import annotations

import base64
import hmac
import os
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from mlconnector.store.models import ConsoleUser

# Ordered: each role can do everything the ones before it can. "operator" is the clerk's earlier name, still
# accepted (and stored as given) so existing accounts and scripts keep working.
ROLES = ("viewer", "clerk", "admin")
RANK = {"viewer": 0, "clerk": 1, "operator": 1, "admin": 2}
ROLE_HELP = {
    "viewer": "sees every screen, changes nothing",
    "clerk": "also retries and resolves exceptions, maps vendors",
    "admin": "also enters credentials and tests connections",
}
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 10
# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.07 s per check here, slow for a guesser.
ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES = 19 * 1024, 2, 1
# Hashes written before Argon2id (scrypt, n=2**15, r=8, p=1) still verify and are replaced at the next sign-in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class UserError(ValueError):
    """A user operation a person can correct (bad name, short password, unknown role or user)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _argon2(salt: bytes, memory: int, iterations: int, lanes: int) -> Argon2id:
    return Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _argon2(salt, ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES).derive(password.encode())
    return f"argon2id${ARGON2_MEMORY_KIB}${ARGON2_ITERATIONS}${ARGON2_LANES}${_b64(salt)}${_b64(digest)}"


def scrypt_hash(password: str) -> str:
    """The earlier scheme, kept to check (and upgrade) hashes stored before Argon2id."""
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, a, b, c, salt, digest = stored.split("$")
        if scheme == "argon2id":
            kdf: Argon2id | Scrypt = _argon2(base64.b64decode(salt), int(a), int(b), int(c))
        elif scheme == "scrypt":
            kdf = Scrypt(salt=base64.b64decode(salt), length=32, n=int(a), r=int(b), p=int(c))
        else:
            return False
        kdf.verify(password.encode(), base64.b64decode(digest))
    except (ValueError, InvalidKey):
        return False
    return True


# A hash of nothing anyone knows: checked when the user does not exist, so a wrong name takes as long as a wrong
# password (no user enumeration by timing).
_DUMMY_HASH = hash_password(_b64(os.urandom(24)))


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    created_at: datetime
    last_login_at: datetime | None

    def can(self, role: str) -> bool:
        return RANK.get(self.role, -1) >= RANK[role]


def _user(row: ConsoleUser) -> User:
    return User(row.username, row.role, row.created_at, row.last_login_at)


def _check(username: str, password: str | None, role: str | None) -> None:
    if not USERNAME.match(username):
        raise UserError(f"{username!r} is not a usable user name (letters, digits, . _ @ -; at most 64).")
    if password is not None and len(password) < MIN_PASSWORD:
        raise UserError(f"The password must be at least {MIN_PASSWORD} characters.")
    if role is not None and role not in RANK:
        raise UserError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")


def add_user(session: Session, username: str, password: str, role: str) -> User:
    _check(username, password, role)
    if session.get(ConsoleUser, username) is not None:
        raise UserError(f"User {username} exists; use `users passwd` to change the password.")
    row = ConsoleUser(username=username, password_hash=hash_password(password), role=role)
    session.add(row)
    session.flush()
    return _user(row)


def set_password(session: Session, username: str, password: str) -> None:
    _check(username, password, None)
    row = session.get(ConsoleUser, username)
    if row is None:
        raise UserError(f"No user {username}.")
    row.password_hash = hash_password(password)


def remove_user(session: Session, username: str) -> None:
    row = session.get(ConsoleUser, username)
    if row is None:
        raise UserError(f"No user {username}.")
    session.delete(row)


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.scalars(select(ConsoleUser).order_by(ConsoleUser.username))]


def get_user(session: Session, username: str) -> User | None:
    row = session.get(ConsoleUser, username)
    return _user(row) if row else None


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right (and its last sign-in noted), else None, in the same time either way."""
    row = session.get(ConsoleUser, username) if USERNAME.match(username) else None
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, row.password_hash):
        return None
    if not row.password_hash.startswith("argon2id$"):
        row.password_hash = hash_password(password)  # an older scrypt hash: replaced now the password is known
    from mlconnector.store.models import utcnow

    row.last_login_at = utcnow()
    return _user(row)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# Hosted deployments: the tenants each user may see (`platform.console_memberships`; `*` is every tenant).


def tenants_of(session: Session, username: str) -> set[str]:
    """The tenant ids `username` belongs to; `{"*"}` (with or without others) means every tenant."""
    from mlconnector.store.platform import console_memberships as m

    return set(session.scalars(select(m.c.tenant_id).where(m.c.username == username)))


def grant(session: Session, username: str, tenant_ids: list[str]) -> None:
    from mlconnector.store.platform import console_memberships as m

    if session.get(ConsoleUser, username) is None:
        raise UserError(f"No user {username}.")
    have = tenants_of(session, username)
    for tenant_id in sorted(set(tenant_ids) - have):
        session.execute(m.insert().values(username=username, tenant_id=tenant_id))


def revoke(session: Session, username: str, tenant_ids: list[str]) -> int:
    from mlconnector.store.platform import console_memberships as m

    if session.get(ConsoleUser, username) is None:
        raise UserError(f"No user {username}.")
    done = session.execute(m.delete().where(m.c.username == username, m.c.tenant_id.in_(tenant_ids)))
    return int(getattr(done, "rowcount", 0) or 0)


def members_of(session: Session, tenant_id: str) -> list[User]:
    """The users who may see `tenant_id`: its members and the platform's all-tenant users."""
    from mlconnector.store.platform import ALL_TENANTS
    from mlconnector.store.platform import console_memberships as m

    names = select(m.c.username).where(m.c.tenant_id.in_([tenant_id, ALL_TENANTS]))
    rows = session.scalars(select(ConsoleUser).where(ConsoleUser.username.in_(names)).order_by(ConsoleUser.username))
    return [_user(r) for r in rows]
