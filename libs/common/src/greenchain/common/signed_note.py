"""Signed notes and checkpoints (C2SP signed-note and tlog-checkpoint), Ed25519 keys.

The formats are those of ``golang.org/x/mod/sumdb/note``, the Go checksum database and the
transparency-dev witnesses, so their tools read greenchain's checkpoints and keys:

- a verifier (public) key is ``<name>+<key hash, 8 hex>+<base64(0x01 || public key)>``;
- a signer (private) key is ``PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || 32-byte seed)>``;
- key hash = the first 4 bytes (big-endian) of SHA-256(name || "\\n" || 0x01 || public key);
- a note is UTF-8 text ending in a newline, a blank line, and one line per signature:
  ``— <name> <base64(key hash || Ed25519 signature of the text)>``;
- a checkpoint's text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` (then optional
  extension lines, which greenchain does not write).

Ed25519 itself comes from ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
HASH_SIZE = 32


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed or whose signature does not verify."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"bad base64: {exc}") from None


def _key_text(text: str) -> str:
    """The key of a key file or string: the first line that is neither empty nor a # comment."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    return ""


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"bad key name {name!r}: non-empty, no spaces, no '+'")


def key_hash(name: str, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int(struct.unpack(">I", digest[:4])[0])


@dataclass(frozen=True)
class Verifier:
    """A public key that checks the signatures of one named signer."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = _key_text(text).split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<hash>+<base64 key>")
        name, hash_hex, encoded = parts
        _check_name(name)
        key = _b64decode(encoded)
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        try:
            key_id = int(hash_hex, 16)
        except ValueError:
            raise NoteError(f"bad key hash {hash_hex!r}") from None
        if len(hash_hex) != 8 or key_id != key_hash(name, key[1:]):
            raise NoteError("the verifier key's hash does not match its name and key")
        return cls(name, key_id, key[1:])

    def encode(self) -> str:
        key = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{key}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes under its name."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        return cls(name, seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = _key_text(text).split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<hash>+<base64 key>")
        name, hash_hex, encoded = parts[2:]
        _check_name(name)
        key = _b64decode(encoded)
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("the signer key is not an Ed25519 key")
        signer = cls(name, key[1:])
        if hash_hex != f"{signer.verifier().key_id:08x}":
            raise NoteError("the signer key's hash does not match its name and key")
        return signer

    def encode(self) -> str:
        key = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_id:08x}+{key}"

    def verifier(self) -> Verifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return Verifier(self.name, key_hash(self.name, public), public)

    def sign_line(self, text: str) -> str:
        """The signature line of ``text`` (ending in a newline)."""
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        blob = struct.pack(">I", self.verifier().key_id) + signature
        return f"{EM_DASH} {self.name} {base64.b64encode(blob).decode()}\n"

    def sign(self, text: str) -> str:
        """The signed note: ``text``, a blank line, this signer's signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("note text must end with a newline and have no blank line")
        return f"{text}\n{self.sign_line(text)}"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of ``note`` once ``verifier``'s signature on it checks out; NoteError if not."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("not a signed note (no blank line before the signatures)")
    text += "\n"
    if not signatures.endswith("\n"):
        raise NoteError("the signature block does not end with a newline")
    for line in signatures[:-1].split("\n"):
        prefix = f"{EM_DASH} "
        if not line.startswith(prefix):
            raise NoteError(f"malformed signature line {line!r}")
        name, _, encoded = line[len(prefix) :].partition(" ")
        blob = _b64decode(encoded)
        if len(blob) < 5:
            raise NoteError("signature too short")
        if name != verifier.name or struct.unpack(">I", blob[:4])[0] != verifier.key_id:
            continue  # someone else's signature (a witness, another replica)
        if verifier.verify(text.encode(), blob[4:]):
            return text
        raise NoteError(f"the signature of {name} does not verify: the note was altered")
    raise NoteError(f"the note carries no signature by {verifier.name}+{verifier.key_id:08x}")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def parse_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint is <origin>, <size>, <root hash> lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("the checkpoint has no origin")
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"bad tree size {size!r}")
        root_hash = _b64decode(root)
        if len(root_hash) != HASH_SIZE:
            raise NoteError("the root hash is not 32 bytes")
        return cls(origin, int(size), root_hash)

    def sign(self, signer: Signer) -> str:
        return signer.sign(self.text())

    @classmethod
    def open(cls, note: str, verifier: Verifier) -> Checkpoint:
        """The checkpoint of a signed note once its signature checks out (NoteError if not)."""
        return cls.parse_text(open_note(note, verifier))

    @classmethod
    def parse_unverified(cls, note: str) -> Checkpoint:
        """The checkpoint's fields without checking any signature (for display and routing)."""
        text, sep, _ = note.rpartition("\n\n")
        return cls.parse_text(text + "\n" if sep else note)
