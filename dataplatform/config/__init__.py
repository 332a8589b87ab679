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
from dataplatform.config.sources import SOURCE_KINDS, SourceAccess, SourceKind, source_kind

__all__ = [
    "SOURCE_KINDS",
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
    "SourceAccess",
    "SourceKind",
    "load_config",
    "parse_config",
    "source_kind",
    "sql_dir_of",
]
