import os
import stat

import pytest

from ponder.files import temp_folder, write_atomic, write_with


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_write_atomic_writes_text_and_bytes_with_plain_permissions(tmp_path, umask_022):
    text = write_atomic(tmp_path / "sub" / "a.json", "{}\n")
    raw = write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert text.read_text() == "{}\n" and raw.read_bytes() == b"\x00\x01"
    assert _mode(text) == 0o644 and _mode(raw) == 0o644  # not tempfile's private 0600


def test_write_atomic_replaces_a_file_whole(tmp_path):
    path = write_atomic(tmp_path / "r.md", "old")
    write_atomic(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_atomic(tmp_path / "plot.png", "old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_with(path, fail)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_temp_folder_is_a_hidden_sibling_with_plain_permissions(tmp_path, umask_022):
    tmp = temp_folder(tmp_path / "ckpt")
    assert tmp.parent == tmp_path and tmp.name.startswith(".ckpt.") and _mode(tmp) == 0o755
