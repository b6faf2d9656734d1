"""WeChat's message signatures and safe-mode encryption (AES-256-CBC, PKCS#7 to 32 bytes).

Plaintext layout: random(16) + len(msg) as 4 bytes big-endian + msg + appid; the key is the
43-character EncodingAESKey base64-decoded (with "=" appended), the IV its first 16 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class RefusedError(Exception):
    """A request that is not WeChat's, or not intact: never processed, only logged."""


def signature(*parts: str) -> str:
    """SHA-1 of the sorted parts concatenated (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(given: str, *parts: str) -> None:
    """Compare in constant time; raise RefusedError on mismatch."""
    if not hmac.compare_digest(given.encode(), signature(*parts).encode()):
        raise RefusedError("bad signature")


def check_timestamp(timestamp: str, now: float, max_skew_seconds: int = 300) -> None:
    """Refuse timestamps more than max_skew_seconds off this machine's clock."""
    if not timestamp.isdigit() or abs(int(timestamp) - now) > max_skew_seconds:
        raise RefusedError("stale or malformed timestamp")


def _key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise RefusedError("bad padding")
    return data[:-amount]


@dataclass(frozen=True)
class Decrypted:
    message: bytes
    key_index: int  # which configured key opened it: the reply is sealed with the same one


class MessageCrypto:
    """Open and seal safe-mode messages for one appid; keys[0] current, keys[1:] previous."""

    def __init__(self, token: str, appid: str, encoding_aes_keys: Sequence[str]) -> None:
        if not encoding_aes_keys:
            raise ValueError("safe mode needs DROPDESK_WECHAT_AES_KEY")
        self.token = token
        self.appid = appid.encode()
        self.keys = [_key(k) for k in encoding_aes_keys]

    def _cipher(self, key: bytes) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def encrypt(self, message: bytes, key_index: int = 0) -> str:
        key = self.keys[key_index]
        plain = os.urandom(16) + struct.pack(">I", len(message)) + message + self.appid
        encryptor = self._cipher(key).encryptor()
        sealed = encryptor.update(_pad(plain)) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, encrypted: str) -> Decrypted:
        """Try each key; the appid at the end must be ours. RefusedError otherwise."""
        try:
            sealed = base64.b64decode(encrypted, validate=True)
        except binascii.Error as exc:
            raise RefusedError("ciphertext is not base64") from exc
        if not sealed or len(sealed) % 16:
            raise RefusedError("ciphertext length")
        for index, key in enumerate(self.keys):
            decryptor = self._cipher(key).decryptor()
            plain = decryptor.update(sealed) + decryptor.finalize()
            try:
                body = _unpad(plain)
            except RefusedError:
                continue
            if len(body) < 20:
                continue
            (length,) = struct.unpack(">I", body[16:20])
            message, appid = body[20 : 20 + length], body[20 + length :]
            if len(message) != length or not hmac.compare_digest(appid, self.appid):
                continue
            return Decrypted(message=message, key_index=index)
        raise RefusedError("cannot decrypt with any key, or another appid")

    def seal_reply(self, reply_xml: str, *, key_index: int, timestamp: str, nonce: str) -> str:
        """The encrypted passive reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        from dropdesk.wechat.xml import cdata

        encrypted = self.encrypt(reply_xml.encode(), key_index)
        sign = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(sign)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )
