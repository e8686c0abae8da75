"""ckpt.hashing: the same digests whichever way a file is read (mapped, or in chunks)."""

import hashlib
import mmap
import os

import pytest

from ckpt import hashing


@pytest.fixture
def files(tmp_path):
    sizes = {"empty": 0, "small": 1000, "one_chunk": hashing.CHUNK, "large": 3 * hashing.CHUNK + 7}
    made = {}
    for name, size in sizes.items():
        made[name] = tmp_path / name
        made[name].write_bytes(os.urandom(size))
    return made


def _expected(path, algorithm="md5"):
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_file_digest_matches_hashlib(files, algorithm):
    for path in files.values():
        assert hashing.file_digest(path, algorithm) == _expected(path, algorithm), path.name


def test_large_files_are_mapped_and_a_refused_map_falls_back_to_reading(files, monkeypatch):
    real, mapped = mmap.mmap, []
    monkeypatch.setattr(mmap, "mmap", lambda *a, **k: mapped.append(a) or real(*a, **k))
    assert hashing.file_digest(files["large"]) == _expected(files["large"])
    assert hashing.file_digest(files["small"]) == _expected(files["small"])
    assert len(mapped) == 1  # the large file only

    def refuse(*args, **kwargs):
        raise OSError("mmap not supported here")

    monkeypatch.setattr(mmap, "mmap", refuse)
    assert hashing.file_digest(files["large"]) == _expected(files["large"])


def test_a_changed_byte_changes_the_mapped_digest(files):
    path = files["large"]
    before = hashing.file_digest(path)
    data = bytearray(path.read_bytes())
    data[2 * hashing.CHUNK + 3] ^= 0x01
    path.write_bytes(bytes(data))
    assert hashing.file_digest(path) != before
    assert hashing.file_digest(path) == _expected(path)


def test_hash_many_reports_every_file_largest_first(files):
    done = []
    result = hashing.hash_many(files.values(), jobs=1, on_done=lambda p, md5: done.append(p))
    assert result == {p: _expected(p) for p in files.values()}
    assert done == sorted(files.values(), key=lambda p: p.stat().st_size, reverse=True)


def test_hash_many_raises_for_a_missing_file(tmp_path, files):
    with pytest.raises(FileNotFoundError):
        hashing.hash_many([*files.values(), tmp_path / "gone"])
