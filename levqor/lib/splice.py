"""A rendered page kept with a hole (a per-visitor value such as the CSRF
token) and served gzip-compressed without compressing it again.

The page is cut at every occurrence of the hole. Each piece is compressed
once, on its own (a fresh raw-deflate stream ended by a full flush, so it
leans on nothing before it and ends on a byte boundary); per request the
visitor's value goes between the pieces as a *stored* (uncompressed)
deflate block, a final empty block closes the stream and the gzip trailer
gets the CRC-32 and length of the whole. RFC 1951 allows any sequence of
blocks, so every client inflates it as one document.

Because the per-visitor value is stored, not compressed, the compressed
length does not depend on it: the BREACH attack on compressed secrets has
nothing to measure. Serving costs a join and a CRC of the pieces after the
first hole, not a deflate of the page.
"""

import struct
import zlib
from dataclasses import dataclass

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, OS unknown
_FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"  # BFINAL=1, stored, length 0


def _deflate(piece: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)


def _stored(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError("A hole's value must be under 64 KiB.")
    return b"\x00" + struct.pack("<HH", len(value), len(value) ^ 0xFFFF) + value


@dataclass(frozen=True)
class SplicedPage:
    """Kept small, as it travels from the cache on every miss of a process:
    the first piece (nearly all of a page) only compressed, with its CRC and
    length; the pieces after a hole (a form's tail) also as they are."""

    deflated: tuple[bytes, ...]
    first_crc: int
    first_length: int
    rest: tuple[bytes, ...]

    @classmethod
    def cut(cls, content: bytes, hole: bytes | None) -> "SplicedPage":
        """`content` with every `hole` (None or empty: no hole) left open."""
        pieces = content.split(hole) if hole else [content]
        return cls(tuple(_deflate(p) for p in pieces), zlib.crc32(pieces[0]), len(pieces[0]), tuple(pieces[1:]))

    @property
    def holes(self) -> int:
        return len(self.rest)

    def body(self, value: bytes = b"") -> bytes:
        """The page with `value` in every hole, uncompressed."""
        first = zlib.decompressobj(-15).decompress(self.deflated[0])
        return value.join((first, *self.rest))

    def gzip(self, value: bytes = b"") -> bytes:
        """The page with `value` in every hole, as a gzip document."""
        stored = _stored(value)
        out = [_GZIP_HEADER, self.deflated[0]]
        crc, size = self.first_crc, self.first_length
        for piece, deflated in zip(self.rest, self.deflated[1:], strict=True):
            out += (stored, deflated)
            crc = zlib.crc32(piece, zlib.crc32(value, crc))
            size += len(value) + len(piece)
        out += (_FINAL_EMPTY_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(out)
