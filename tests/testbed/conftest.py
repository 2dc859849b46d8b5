import pytest


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A few-second build with the toy settings (same code path as the default build)."""
    from testbed import TINY, build_base

    return build_base(tmp_path_factory.mktemp("base") / "tiny", config=TINY, progress=False)
