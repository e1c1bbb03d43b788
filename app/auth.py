"""Passwords for the web server's --auth-file: hashing, reading the file and checking a login. Imports no Gradio.

Each line of the file is `user:password-hash`; make one with

    python -c "from consensus_chat.app.auth import hash_password; print('alice:' + hash_password('secret'))"

Hashes are `pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>` (what `hash_password` writes). The unsalted
`sha256$<hex>` form is refused: a leaked file of those is cracked in minutes.

A PBKDF2 check costs ~0.4 s of CPU on purpose; `consensus_chat.app.login` runs it off the server's event loop and limits attempts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError

PBKDF2_ITERATIONS = 600_000
MAKE_HASH = ("make a salted pbkdf2_sha256 hash with: python -c \"from consensus_chat.app.auth import hash_password; "
             "print('alice:' + hash_password('secret'))\"")


class AuthFileError(ConsensusChatError):
    """The --auth-file is missing, unreadable or has a line that is not `user:password-hash`."""


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """A `pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>` hash for an --auth-file line.

    Make a line with:  python -c "from consensus_chat.app.auth import hash_password; print('alice:' + hash_password('secret'))"
    """
    if not isinstance(password, str) or not password:
        raise ValueError("The password must be a non-empty string.")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64encode(salt)}${_b64encode(digest)}"


def _check_hash(stored: str) -> None:
    """Raise ValueError when `stored` is not a hash this module can verify."""
    scheme, _, rest = stored.partition("$")
    if scheme == "pbkdf2_sha256":
        parts = rest.split("$")
        if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) < 1:
            raise ValueError("expected pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>")
        try:
            if not _b64decode(parts[2]):
                raise ValueError("empty hash")
            _b64decode(parts[1])
        except ValueError as exc:
            raise ValueError(f"the salt or hash is not base64 ({exc})") from exc
    elif scheme == "sha256":
        raise ValueError(f"unsalted sha256$<hex> hashes are refused (too fast to crack); {MAKE_HASH}")
    else:
        raise ValueError(f"unknown hash scheme {scheme!r}; {MAKE_HASH}")


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored pbkdf2_sha256 hash (constant-time comparison); other schemes never match."""
    if not isinstance(password, str):
        return False
    scheme, _, rest = stored.partition("$")
    if scheme == "pbkdf2_sha256":
        iterations, salt, expected = rest.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _b64decode(salt), int(iterations))
        return hmac.compare_digest(digest, _b64decode(expected))
    return False


def load_auth_file(path: str | Path) -> dict[str, str]:
    """Read `user:password-hash` lines (blank lines and # comments allowed); raise AuthFileError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AuthFileError(f"The auth file {path} does not exist. Create it with lines of user:password-hash "
                            "(see `python -c \"from consensus_chat.app.auth import hash_password; print('alice:' + "
                            "hash_password('secret'))\"`).") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthFileError(f"Cannot read the auth file {path}: {exc}.") from exc
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        user, stored = user.strip(), stored.strip()
        if not sep or not user or not stored:
            raise AuthFileError(f"{path}, line {number}: expected user:password-hash.")
        try:
            _check_hash(stored)
        except ValueError as exc:
            raise AuthFileError(f"{path}, line {number}: {exc}.") from exc
        if user in users:
            raise AuthFileError(f"{path}, line {number}: user {user!r} appears twice.")
        users[user] = stored
    if not users:
        raise AuthFileError(f"The auth file {path} has no user:password-hash lines; add at least one.")
    return users


def check_login(username: str, password: str, *, users: dict[str, str]) -> bool:
    """True when the user exists and the password matches its hash. Blocks for one PBKDF2 run (~0.4 s)."""
    stored = users.get(username) if isinstance(username, str) else None
    if stored is None:
        # Spend the same time as a real check so that timing does not reveal which users exist.
        hashlib.pbkdf2_hmac("sha256", str(password).encode("utf-8"), b"consensus-chat", PBKDF2_ITERATIONS)
        return False
    return verify_password(password, stored)
