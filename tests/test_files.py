"""dark.files: atomic writes leave the old file or the new one, never a part; digests are sha256."""

import hashlib
import os

import numpy as np
import pytest

from dark.files import atomic_write, sha256_file


def test_atomic_write_bytes_text_and_writer(tmp_path):
    assert atomic_write(tmp_path / "x" / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert atomic_write(tmp_path / "b.txt", "µm").read_bytes() == "µm".encode()
    arr = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.load(atomic_write(tmp_path / "c.npy", lambda f: np.save(f, arr))), arr)
    assert os.stat(tmp_path / "c.npy").st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt", "c.npy", "x"]  # no temporary left


def test_failed_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    target = atomic_write(tmp_path / "t.json", "old")

    def crash(f):
        f.write(b"half of the new con")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_sha256_file_matches_hashlib_across_block_boundaries(tmp_path):
    data = os.urandom((1 << 20) + 12345)
    (tmp_path / "d").write_bytes(data)
    assert sha256_file(tmp_path / "d") == hashlib.sha256(data).hexdigest()
