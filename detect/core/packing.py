"""What long-lived state keeps packed: an object pickled and compressed with zstd at level 1
(correlation windows keep each hit's event lines, deduplication groups the events they stand
for). Alone, by a compressor kept per thread (python-zstandard: "assume instances are not
thread safe"; Dask runs partitions on threads): 7.8 us an event of five lines, where zlib's
level 1, its state made anew each time, took 36 us for 4% fewer bytes. Or against a `preset`,
the pickle of a like object (zstd's raw-content dictionary): events of one activity differ by
a few dozen bytes. Either way copied to a buffer of its own size: zstandard returns its output
in the buffer it allocated for the input's compression bound (an event of ~2.2 KB packed to
~200 bytes held ~2.3 KB, traced).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Sequence
from typing import Any

import zstandard

_CODECS = threading.local()


def pack(item: object, preset: bytes | None = None) -> bytes:
    """`item` pickled and compressed, alone or against `preset`."""
    if preset is None:
        compressor = getattr(_CODECS, "compressor", None)
        if compressor is None:
            compressor = _CODECS.compressor = zstandard.ZstdCompressor(level=1)
    else:
        compressor = zstandard.ZstdCompressor(level=1, dict_data=_dictionary(preset))
    return bytes(memoryview(compressor.compress(preset_of(item))))


def preset_of(item: object) -> bytes:
    """The preset of objects like `item`: its pickle, as `pack` makes it."""
    return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)


def pickled(packed: bytes) -> bytes:
    """The pickle `pack` compressed alone (the preset of like objects)."""
    decompressor = getattr(_CODECS, "decompressor", None)
    if decompressor is None:
        decompressor = _CODECS.decompressor = zstandard.ZstdDecompressor()
    found: bytes = decompressor.decompress(packed)
    return found


def unpack(packed: bytes) -> Any:
    """The object `pack` packed alone."""
    return pickle.loads(pickled(packed))


def unpack_against(packed: Sequence[bytes], preset: bytes) -> list[Any]:
    """The objects `pack` packed against `preset`."""
    unpacker = zstandard.ZstdDecompressor(dict_data=_dictionary(preset))
    return [pickle.loads(unpacker.decompress(item)) for item in packed]


def _dictionary(preset: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(preset, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
