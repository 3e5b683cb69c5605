"""A build asked to run on Ray that cannot: clear errors, and the served index untouched."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

from qa_service.cli import main
from qa_service.config import Settings
from qa_service.index import BuildError, build_index


def test_without_the_ray_extra_a_ray_build_says_how_to_install_it(
        fake_encoder, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(BuildError, match=r"pip install 'qa-service\[ray\]'"):
        build_index(replace(settings, ray_address="auto"), fake_encoder)
    assert not (settings.index_dir / "CURRENT").exists()


@pytest.mark.parametrize(("address", "message"), [
    ("127.0.0.1:1", "no Ray cluster answers at '127.0.0.1:1'"),
    ("ray://127.0.0.1:1", "no Ray cluster answers at 'ray://127.0.0.1:1'"),
    ("my-cluster", "not a Ray cluster address: 'my-cluster'"),
])
def test_a_cluster_address_that_cannot_work_is_refused_before_any_work(
        settings: Settings, address: str, message: str) -> None:
    result = CliRunner().invoke(main, ["index", "--corpus", str(settings.corpus_dir),
                                       "--index-dir", str(settings.index_dir), "--ray", address])
    assert result.exit_code == 1
    assert message in result.output and "ray start --head" in result.output
    assert not (settings.index_dir / "CURRENT").exists()
