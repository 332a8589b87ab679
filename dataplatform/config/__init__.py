"""pipeline.yaml: typed models and the loader."""

from dataplatform.config.loader import ConfigError, Problem, load_config, parse_config, sql_dir_of
from dataplatform.config.models import (
    Column,
    Contract,
    CsvSource,
    Dataset,
    PipelineConfig,
    PostgresSource,
    RestSource,
    Rule,
)

__all__ = [
    "Column",
    "ConfigError",
    "Contract",
    "CsvSource",
    "Dataset",
    "PipelineConfig",
    "PostgresSource",
    "Problem",
    "RestSource",
    "Rule",
    "load_config",
    "parse_config",
    "sql_dir_of",
]
