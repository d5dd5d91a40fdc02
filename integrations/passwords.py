"""Password hashing: Argon2id (argon2-cffi), behind a small interface so tests can use a cheaper cost."""

from dataclasses import dataclass, field

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class Passwords:
    """Argon2id with RFC 9106's second recommended parameters by default (t=3, 64 MiB, p=4)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    _hasher: PasswordHasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hasher = PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost, parallelism=self.parallelism, type=Type.ID
        )
        object.__setattr__(self, "_hasher", hasher)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


# A hash of nothing anyone knows: verified against when the email is unknown, so that a sign-in for an address
# with no account takes as long as one with a wrong password (no account enumeration by timing).
def decoy(passwords: Passwords) -> str:
    return passwords.hash("not a password: the account does not exist")


def cheap() -> Passwords:
    """Still Argon2id, at the lowest cost argon2 allows: for tests and benches, never for people's passwords."""
    return Passwords(time_cost=1, memory_cost=8, parallelism=1)
