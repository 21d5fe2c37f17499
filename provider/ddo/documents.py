"""Pure rules for metadata documents published with `ERC721Template.setMetaData`.

flags bit 1 = ECIES-encrypted to the provider key, bit 0 = LZMA-compressed; decryption
comes first, then decompression (publishers compress, then encrypt). The document hash is
sha256 of the plain document.
"""
from __future__ import annotations

import hashlib
import lzma

from provider.crypto.ecies import DecryptionFailed, decrypt
from provider.errors import InvalidRequest

FLAG_COMPRESSED = 0x01
FLAG_ENCRYPTED = 0x02

STATE_ACTIVE = 0
STATE_END_OF_LIFE = 1
STATE_DEPRECATED = 2
STATE_REVOKED = 3
STATE_TEMPORARILY_DISABLED = 4
STATE_UNLISTED = 5

# States in which the document may still be decrypted (reference decrypt, step 7).
DECRYPTABLE_STATES = {STATE_ACTIVE, STATE_TEMPORARILY_DISABLED, STATE_UNLISTED}
# States in which the asset may be ordered and consumed.
CONSUMABLE_STATES = {STATE_ACTIVE, STATE_UNLISTED}
REFUSED_STATE_MESSAGES = {
    STATE_END_OF_LIFE: "Asset end of life",
    STATE_DEPRECATED: "Asset deprecated",
    STATE_REVOKED: "Asset revoked",
}


class DocumentError(InvalidRequest):
    """The document cannot be decoded; the message is the reference's client text."""


def decompress_lzma(data: bytes, max_output: int) -> bytes:
    """LZMA (xz or alone format, as Python's `lzma.compress` and ocean.js write) with a hard cap
    on the output: a few KB can expand to gigabytes, so the decoder never produces more than
    `max_output` bytes and a document that wants more is refused."""
    decoder = lzma.LZMADecompressor()
    try:
        output = decoder.decompress(data, max_length=max_output + 1)
    except lzma.LZMAError:
        raise DocumentError("Failed to decompress") from None
    if len(output) > max_output or (not decoder.eof and not decoder.needs_input):
        raise DocumentError(f"Decompressed document is larger than {max_output} bytes")
    if not decoder.eof:
        raise DocumentError("Failed to decompress")
    return output


def decode_document(data: bytes, flags: int, private_key: str, max_output: int) -> bytes:
    """Undo encryption and compression according to `flags`; at most `max_output` bytes out."""
    if flags & FLAG_ENCRYPTED:
        try:
            data = decrypt(private_key, data)
        except DecryptionFailed:
            # Some clients pass the 0x-hex text of the ciphertext as the bytes themselves.
            try:
                text = data.decode("ascii")
                data = decrypt(private_key, bytes.fromhex(text.removeprefix("0x")))
            except (UnicodeDecodeError, ValueError, DecryptionFailed):
                raise DocumentError("Failed to decrypt.") from None
    if flags & FLAG_COMPRESSED:
        data = decompress_lzma(data, max_output)
    elif len(data) > max_output:
        raise DocumentError(f"Document is larger than {max_output} bytes")
    return data


def hash_matches(document: bytes, document_hash: bytes, flags: int) -> bool:
    """sha256(document) == documentHash.

    For unencrypted, uncompressed documents ocean.js (createAsset with encryptDDO=false)
    hashes the 0x-hex text of the document instead; that form is accepted for flags 0 only.
    """
    if hashlib.sha256(document).digest() == document_hash:
        return True
    if flags == 0:
        return hashlib.sha256(("0x" + document.hex()).encode()).digest() == document_hash
    return False
