import os
import stat

from profit_core.files import atomic_write, canonical_json, sha256_file


def test_atomic_write_respects_the_umask_and_leaves_no_temporary_file(tmp_path):
    old = os.umask(0o002)  # a group-shared setup
    try:
        atomic_write(tmp_path / "a" / "f.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "f.json").stat().st_mode) == 0o664
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.json"]


def test_canonical_json_and_hash(tmp_path):
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    (tmp_path / "x").write_bytes(b"abc")
    assert sha256_file(tmp_path / "x") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
