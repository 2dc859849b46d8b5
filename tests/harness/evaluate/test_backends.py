"""The real engines on the tiny checkpoints: every backend scores the overfit model 100% with identical outputs,
a checkpoint swapped into a running engine answers exactly as a fresh engine, and a stored result is a cache hit."""

import pytest

from harness.evaluate import api
from tests.harness.conftest import ENGINE, TASK
from tests.harness.tiny_model import FIXTURE_TASKS

pytestmark = pytest.mark.vllm


def run(ckpts, names, backend, store):
    return api.evaluate([ckpts[n] for n in names], [TASK], backend=backend, store=store, engine_kwargs=ENGINE,
                        include_paths=[FIXTURE_TASKS])


def responses(store, record):
    from harness.store import Store

    return [s["responses"] for s in Store(store).read_samples(record["key"])]


@pytest.fixture(scope="module")
def by_backend(ckpts, tmp_path_factory):
    """good + random through each backend; vllm and vllm-server load `random` into the engine started for `good`."""
    out = {}
    for backend in ("hf", "vllm", "vllm-server"):
        store = tmp_path_factory.mktemp(backend)
        out[backend] = (store, run(ckpts, ["good", "random"], backend, store))
    return out


def test_every_backend_scores_the_overfit_checkpoint_100_percent_with_identical_outputs(by_backend):
    outputs = {}
    for backend, (store, (good, rnd)) in by_backend.items():
        assert good["backend"] == backend
        assert good["metrics"]["exact_match"]["value"] == 1.0, backend
        assert good["per_doc"]["scores"] == [[1.0]] * 12
        assert good["metrics"]["truncated"]["value"] == 0.0
        assert good["chat_template_sha256"] and good["sampling"]["apply_chat_template"]
        outputs[backend] = responses(store, good)
        assert rnd["timings"]["engine_start_s"] == 0.0 or backend == "hf"  # reused engine
    assert outputs["hf"] == outputs["vllm"] == outputs["vllm-server"]


def test_swapped_weights_answer_exactly_as_a_fresh_engine(by_backend, ckpts, tmp_path):
    (fresh,) = run(ckpts, ["random"], "vllm", tmp_path)
    assert fresh["timings"]["engine_start_s"] > 0
    want = responses(tmp_path, fresh)
    for backend in ("vllm", "vllm-server"):
        store, (_, swapped) = by_backend[backend]
        assert swapped["timings"]["weights_load_s"] > 0, backend
        assert responses(store, swapped) == want, backend


def test_a_stored_result_is_a_cache_hit_and_starts_no_engine(by_backend, ckpts, monkeypatch):
    store, first = by_backend["vllm"]

    def no_engine(*a, **k):
        raise AssertionError("a cache hit must not start a backend")

    monkeypatch.setattr(api, "make_backend", no_engine)
    again = run(ckpts, ["good", "random"], "vllm", store)
    assert again == first


@pytest.mark.slow
def test_sampled_answers_of_a_swapped_checkpoint_match_a_fresh_engine(ckpts, tmp_path):
    """paper preset (T=0.7, 2 repeats): the seed reset before each checkpoint makes sampling reproducible too."""
    kw = dict(sampling="paper", repeats=2, max_gen_toks=8, engine_kwargs=ENGINE, include_paths=[FIXTURE_TASKS])
    task = "tiny_arith_long"  # no newline stop: the random model's samples are long enough to differ
    _, swapped = api.evaluate([ckpts["good"], ckpts["random"]], [task], backend="vllm", store=tmp_path / "a", **kw)
    (fresh,) = api.evaluate([ckpts["random"]], [task], backend="vllm", store=tmp_path / "b", **kw)
    assert swapped["timings"]["weights_load_s"] > 0 and fresh["timings"]["engine_start_s"] > 0
    assert responses(tmp_path / "a", swapped) == responses(tmp_path / "b", fresh)
    assert any(len(set(r)) > 1 for r in responses(tmp_path / "b", fresh))  # the repeats really differ
