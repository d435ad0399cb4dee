"""Training uploads as zip archives (drumgen.server.uploads.extract_zip): only audio files come out, under names
built by the server, inside the destination; bombs and oversized archives are refused before they unpack."""

from __future__ import annotations

import io
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.server import uploads
from drumgen.server.settings import Settings

WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def _hit() -> bytes:
    return audio.wav_bytes(synth.hit("kick", 1), synth.SAMPLE_RATE)


def _zip(tmp_path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], level: int = 6) -> Path:
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in entries:
            z.writestr(name, data)
    return path


def _extract(tmp_path: Path, archive: Path, **limits) -> tuple[int, list[Path]]:
    dest = tmp_path / "dest"
    dest.mkdir(exist_ok=True)
    n = uploads.extract_zip(archive, dest, Settings(**limits))
    files = [p for p in dest.rglob("*") if not p.is_dir()]
    for p in files:
        assert dest.resolve() in p.resolve().parents, f"{p} is outside the destination"
        assert not p.is_symlink() and stat.S_ISREG(p.lstat().st_mode)
        for part in p.relative_to(dest).parts:
            assert part not in ("..", ".") and part.split(".")[0].lower() not in WINDOWS_DEVICES, part
    return n, files


def test_path_traversal_absolute_and_odd_names_stay_inside(tmp_path):
    hit = _hit()
    names = ["../../escape.wav", "/etc/cron.d/x.wav", "..\\..\\win.wav", "C:\\Windows\\evil.wav", "kick/../../up.wav",
             "./././kick.wav", "kick/" + "a" * 300 + ".wav", "snare/\x00nul.wav", "hat/ünï cödé.wav",
             "con.wav", "nul/aux.wav", "COM1/lpt1.wav", "kick/.hidden.wav", "kick/.wav"]
    n, files = _extract(tmp_path, _zip(tmp_path, [(name, hit) for name in names]))
    assert n == len(files) >= 8
    assert not (tmp_path / "escape.wav").exists() and not Path("/etc/cron.d/x.wav").exists()


def test_only_audio_files_come_out(tmp_path):
    hit = _hit()
    entries = [("kick/a.wav", hit), ("kick/readme.txt", b"hi"), ("run.sh", b"#!/bin/sh\nrm -rf ~\n"),
               ("kick/b.WAV", hit), ("inner.zip", b"PK\x03\x04" + bytes(40)), ("x.py", b"import os"),
               ("__MACOSX/kick/._a.wav", b"\x00\x05\x16\x07"), ("snare/", b"")]
    n, files = _extract(tmp_path, _zip(tmp_path, entries))
    assert n == 2 and sorted(p.suffix.lower() for p in files) == [".wav", ".wav"]


def test_nested_zip_is_not_unpacked(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("deep.wav", _hit())
    n, files = _extract(tmp_path, _zip(tmp_path, [("inner.zip", inner.getvalue()), ("top.wav", _hit())]))
    assert n == 1 and "deep" not in files[0].name


def test_symlink_entries_become_no_links(tmp_path):
    info = zipfile.ZipInfo("kick/link.wav")
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    n, files = _extract(tmp_path, _zip(tmp_path, [(info, b"/etc/passwd"), ("kick/real.wav", _hit())]))
    for p in files:  # a link entry is at most a small regular file holding the target's name
        assert not p.is_symlink() and p.read_bytes() != Path("/etc/passwd").read_bytes()


def test_a_one_gigabyte_zero_file_is_refused_before_unpacking(tmp_path):
    """1 GB of zeros deflates to ~1 MB (ratio ~1000): refused from the directory entry, nothing written."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open("kick/bomb.wav", "w",
                                                                                        force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(1024):
            f.write(block)
    assert path.stat().st_size < 10 << 20
    start = time.monotonic()
    with pytest.raises(uploads.UploadError, match="zip bomb|more than"):
        _extract(tmp_path, path)
    assert time.monotonic() - start < 5
    assert sum(p.stat().st_size for p in (tmp_path / "dest").rglob("*") if p.is_file()) == 0


def test_an_archive_lying_about_sizes_is_cut_off(tmp_path):
    """The central directory claims 100 bytes; the stream inflates to 8 MB: extraction stops at the claim."""
    path = _zip(tmp_path, [("kick/liar.wav", bytes(8 << 20))], level=9)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        real = z.getinfo("kick/liar.wav").file_size
    small = (100).to_bytes(4, "little")
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size in both headers
        i = data.find(sig)
        assert int.from_bytes(data[i + offset:i + offset + 4], "little") == real
        data[i + offset:i + offset + 4] = small
    path.write_bytes(bytes(data))
    try:
        n, files = _extract(tmp_path, path, max_zip_ratio=1e9)
    except uploads.UploadError as e:
        assert "larger than the archive says" in str(e) or "cannot be extracted" in str(e)
    else:
        assert all(p.stat().st_size <= 100 for p in files)


@pytest.mark.parametrize("limits, entries, words", [
    ({"max_train_files": 5}, [(f"k/{i}.wav", b"RIFF") for i in range(6)], "more than 5"),
    ({"max_unzipped_bytes": 1000}, [("k/a.wav", os.urandom(800)), ("k/b.wav", os.urandom(800))], "more than"),
])
def test_count_and_total_size_caps(tmp_path, limits, entries, words):
    with pytest.raises(uploads.UploadError, match=words):
        _extract(tmp_path, _zip(tmp_path, entries), **limits)


@pytest.mark.parametrize("data", [b"", b"PK\x05\x06" + bytes(18), b"not a zip", os.urandom(5000),
                                  b"PK\x03\x04" + os.urandom(200)])
def test_damaged_archives_are_upload_errors(tmp_path, data):
    path = tmp_path / "bad.zip"
    path.write_bytes(data)
    try:
        _extract(tmp_path, path)
    except uploads.UploadError as e:
        assert str(e)
