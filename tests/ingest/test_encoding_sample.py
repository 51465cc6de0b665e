"""Encoding detection when the sampled first megabyte ends inside a multi-byte character."""

from __future__ import annotations

from pathlib import Path

from crmlens.ingest.files import _SAMPLE_BYTES, detect_encoding


def test_gb18030_character_cut_by_the_sample_end(tmp_path: Path) -> None:
    head = "订单号,下单时间\n".encode("gb18030")
    row = "SO1,2025年1月2日\n".encode("gb18030")
    first_byte = row.index("年".encode("gb18030"))
    pad = (_SAMPLE_BYTES - 1 - len(head) - first_byte) % len(row)
    filler = b"P" * (pad - 1) + b"\n" if pad else b""  # an ASCII line that moves the rows along
    body = head + filler + row * (_SAMPLE_BYTES // len(row) + 10)
    assert body[_SAMPLE_BYTES - 1 : _SAMPLE_BYTES + 1] == "年".encode("gb18030")  # cut in two by the sample
    path = tmp_path / "orders.csv"
    path.write_bytes(body)
    assert detect_encoding(path) == "gb18030"
