import pytest

from profit_core.folders import MARKER, FolderError, claim


def test_a_missing_or_empty_folder_is_claimed_and_marked(tmp_path):
    assert claim(tmp_path / "new", "store") == tmp_path / "new"
    assert (tmp_path / "new" / MARKER).is_file()
    (tmp_path / "empty").mkdir()
    claim(tmp_path / "empty", "report")
    (tmp_path / "empty" / "notes.txt").write_text("a user's file, added later")
    claim(tmp_path / "empty", "report")  # once marked, the folder stays the command's


def test_known_entries_are_accepted_and_anything_else_refused(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "records").mkdir()
    claim(tmp_path / "r", "store", known=("records",))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "thesis.tex").write_text("mine")
    with pytest.raises(FolderError, match=r"holds files this command did not write \(thesis.tex\)"):
        claim(tmp_path / "x", "report", known=("leaderboard.md",))
    assert not (tmp_path / "x" / MARKER).exists()


def test_a_model_a_file_and_another_kind_are_refused(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(FolderError, match="holds a model"):
        claim(tmp_path / "model", "report", known=("config.json",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError, match="is a file"):
        claim(tmp_path / "file", "store")
    claim(tmp_path / "s", "store")
    with pytest.raises(FolderError, match="is a profit store folder, not a report folder"):
        claim(tmp_path / "s", "report")


def test_checking_writes_nothing(tmp_path):
    claim(tmp_path / "later", "runs", create=False)
    assert not (tmp_path / "later").exists()


def test_another_writers_temporary_file_is_not_foreign(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / f".{MARKER}.x1y2.tmp").write_text("")  # a concurrent claim writing the marker right now
    claim(tmp_path / "s", "store")
