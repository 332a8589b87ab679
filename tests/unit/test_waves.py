"""Standardization waves (graphlib): each wave depends only on earlier ones; a cycle is named the same way
whatever order the datasets are written in."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplatform.config import PipelineConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def _with_dependencies(depends_on: dict[str, tuple[str, ...]]) -> PipelineConfig:
    """The sample config with its dependencies replaced (validation skipped, waves() computed on demand)."""
    sample = load_config(ROOT / "pipeline.yaml", env={})
    datasets = {
        name: ds.model_copy(update={"depends_on": depends_on.get(name, ())}) for name, ds in sample.datasets.items()
    }
    return sample.model_copy(update={"datasets": datasets})


def test_waves_are_sorted_and_respect_every_dependency() -> None:
    config = _with_dependencies({"sales": ("transactions",), "transactions": ("customers", "products")})
    assert config.waves() == [["customers", "exchange_rates", "products"], ["transactions"], ["sales"]]


@pytest.mark.parametrize(
    "depends_on",
    [
        {"sales": ("products",), "products": ("customers",), "customers": ("sales",)},
        {"customers": ("sales",), "sales": ("products",), "products": ("customers",)},
    ],
)
def test_a_cycle_is_reported_from_its_first_dataset_along_depends_on(depends_on: dict[str, tuple[str, ...]]) -> None:
    with pytest.raises(ValueError, match=r"dependency cycle: customers -> sales -> products -> customers"):
        _with_dependencies(depends_on).waves()
