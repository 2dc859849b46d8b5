"""Training logs where people look: TensorBoard event files with the objective's statistics."""

import struct

import pytest

from training.api import train
from training.config import ConfigError


def scalars(folder) -> dict[str, list[float]]:
    """Every scalar in the TFRecord event files under `folder` (length, crc, Event proto, crc per record)."""
    from tensorboardX.proto import event_pb2

    out: dict[str, list[float]] = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (n,) = struct.unpack("<Q", data[at:at + 8])
            event = event_pb2.Event.FromString(data[at + 12:at + 12 + n])
            at += 12 + n + 4
            for value in event.summary.value:
                out.setdefault(value.tag, []).append(value.simple_value)
    return out


def test_tensorboard_gets_loss_lr_kept_fraction_throughput_and_memory(quick_config, tmp_path):
    out = train(quick_config(max_steps=2, logging_steps=1, report_to="tensorboard",
                             objective={"objective": "profit", "tau": 0.002}))
    found = scalars(out / "tensorboard")
    for tag in ("train/loss", "train/learning_rate", "train/kept_fraction", "train/p_kept_mean",
                "train/tokens_per_s", "train/peak_mem_mb"):
        assert len(found.get(tag, [])) == 2, (tag, sorted(found))
    assert all(0 < k <= 1 for k in found["train/kept_fraction"])
    assert not (out / "checkpoints").exists()  # logs live beside the run, not in the removed checkpoints/


def test_a_chosen_logging_dir_and_none(quick_config, tmp_path):
    train(quick_config(max_steps=1, report_to="tensorboard", logging_dir=str(tmp_path / "tb" / "run1"),
                       output_dir=str(tmp_path / "a")))
    assert scalars(tmp_path / "tb" / "run1")["train/loss"]
    out = train(quick_config(max_steps=1, report_to="none", output_dir=str(tmp_path / "b")))
    assert not (out / "tensorboard").exists()


def test_an_unknown_or_missing_reporter_fails_at_start(quick_config, tmp_path):
    with pytest.raises(ConfigError, match="`report_to`: 'mlflow' is not one of"):
        quick_config(report_to="mlflow")
    with pytest.raises(ConfigError, match="trackio needs the package trackio"):
        train(quick_config(report_to="trackio"))
    assert not (tmp_path / "run").exists()


def test_only_the_main_process_writes_tensorboard(quick_config, tmp_path):
    # Every rank builds the callbacks; a writer opened by each would duplicate the curves and race to make the folder.
    from transformers import TrainerState, TrainingArguments

    from training.api import tensorboard_callback

    config = quick_config(report_to="tensorboard")
    callback = tensorboard_callback(config, tmp_path / "run")
    args = TrainingArguments(output_dir=str(tmp_path / "run"), report_to="none", use_cpu=True)
    other = TrainerState(is_world_process_zero=False)
    callback.on_train_begin(args, other, None)
    callback.on_log(args, other, None, logs={"loss": 1.0})
    assert not (tmp_path / "run").exists()
    main = TrainerState(is_world_process_zero=True, global_step=1)
    callback.on_log(args, main, None, logs={"loss": 1.0})
    callback.on_train_end(args, main, None)
    assert scalars(tmp_path / "run" / "tensorboard") == {"train/loss": [1.0]}
