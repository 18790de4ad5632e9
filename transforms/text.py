"""Reading the text files users hand the project (manifests, HACS label files)."""

from __future__ import annotations


def decode_utf8(data: bytes, name: str, error: type[Exception] = ValueError,
                what: str = "file") -> str:
    """File bytes as text: UTF-8, a leading byte-order mark dropped. A byte that is not UTF-8
    raises ``error`` naming ``name``, the line (1-based) and column (1-based, in bytes), and
    asking to save the ``what`` as UTF-8."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise error(f"{name} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x} at column "
                    f"{column}); save the {what} as UTF-8") from None
