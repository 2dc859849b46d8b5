from profit_core.formats import train_log


def test_a_partial_last_line_is_dropped_not_fatal(tmp_path):
    path = tmp_path / train_log.NAME
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    entries, bad = train_log.read(path)
    assert [e["step"] for e in entries] == [1, 2] and bad == 1
    train_log.truncate(path, 1)  # a resume from the state of step 1 keeps step 1 only
    assert train_log.read(path) == ([{"step": 1, "loss": 2.0}], 0)


def test_missing_log_is_empty(tmp_path):
    assert train_log.read(tmp_path / "none.jsonl") == ([], 0)
