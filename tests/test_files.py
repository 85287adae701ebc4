"""Dataset files: links that merges and exports place, and files written whole or not at all."""

import os

import pytest

from simgen.export.bop import JsonObjectFile
from simgen.export.dataset import write_text
from simgen.writers.files import NamedFile, atomic_file, link, listed, on_disk, temporary_path


def test_a_link_is_a_hard_link_of_the_file_a_symlink_names(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"png")
    (tmp_path / "alias.png").symlink_to(real)
    target = tmp_path / "new" / "folder" / "000000.png"
    link(tmp_path / "alias.png", target)
    assert not target.is_symlink() and os.path.samefile(target, real) and real.stat().st_nlink == 2


def test_a_link_replaces_what_is_there_and_leaves_that_files_other_names_alone(tmp_path):
    old, new = tmp_path / "old.png", tmp_path / "new.png"
    old.write_bytes(b"old")
    new.write_bytes(b"new")
    target = tmp_path / "000000.png"
    os.link(old, target)
    link(new, target)
    assert target.read_bytes() == b"new" and old.read_bytes() == b"old"
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    link(new, tmp_path / "dangling.png")
    assert (tmp_path / "dangling.png").read_bytes() == b"new"


def test_a_missing_source_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.png"):
        link(tmp_path / "gone.png", tmp_path / "out" / "000000.png")


def test_an_atomic_file_is_there_whole_or_not_at_all(tmp_path):
    path = tmp_path / "annotations.json"
    with atomic_file(path) as fh:
        fh.write(b"{}")
    with pytest.raises(ValueError):
        with atomic_file(path) as fh:
            fh.write(b'{"images":[')
            raise ValueError("a record that does not read")
    assert path.read_bytes() == b"{}" and os.listdir(tmp_path) == ["annotations.json"]


def test_an_error_reading_another_file_in_the_block_names_that_file(tmp_path):
    """Only errors of writing the file itself are reported under its name."""
    with pytest.raises(FileNotFoundError, match="record.json"):
        with atomic_file(tmp_path / "annotations.json"):
            (tmp_path / "record.json").read_text()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full: every write to it fails")
@pytest.mark.parametrize("write", [
    lambda path: write_text(path, "0 0.5 0.5 0.1 0.1\n"),
    lambda path: bop_scene_file(path),
    lambda path: split_file(path),
], ids=["yolo-label", "bop-scene-file", "split-file"])
def test_a_full_disk_under_an_export_names_the_file(tmp_path, write):
    """A write to a full disk raises an OSError without a file name: the exports' writes give it theirs, which
    simgen's one-line error then shows."""
    path = tmp_path / "annotations_train.json"
    path.symlink_to("/dev/full")
    with pytest.raises(OSError, match="No space left on device") as raised:
        write(path)
    assert raised.value.filename == str(path)


def bop_scene_file(path):
    with JsonObjectFile(path) as entries:
        entries.add("0", [{"obj_id": 1}])


def split_file(path):
    """A split file as the splits export writes it, through a temporary name (here, the full device), while another
    split's file is open too: the error names the file that could not be written, not the other."""
    tmp = temporary_path(path)
    tmp.symlink_to("/dev/full")
    other = path.with_name("annotations_val.json")
    with NamedFile(other, temporary_path(other)) as val, NamedFile(path, tmp) as train:
        val.write(b"{}")
        train.write(b"{}" * 5000)  # past the buffer: the write itself fails


def test_within_a_listed_block_a_folder_is_listed_once(tmp_path):
    """A resume check of a million frames lists their folders rather than looking up each file."""
    (tmp_path / "000000.png").write_bytes(b"png")
    (tmp_path / "000001.png").mkdir()
    with listed():
        assert on_disk(tmp_path / "000000.png") and not on_disk(tmp_path / "000001.png")
        (tmp_path / "000002.png").write_bytes(b"png")
        assert not on_disk(tmp_path / "000002.png")  # written after the folder was listed
        assert not on_disk(tmp_path / "missing" / "000000.png")
    assert on_disk(tmp_path / "000002.png") and not on_disk(tmp_path / "000001.png")
