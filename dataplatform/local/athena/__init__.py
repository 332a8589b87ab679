"""Local Athena: DuckDB over the lake, Athena (Trino) SQL transpiled with sqlglot, never a different answer.

Developer tooling: the local runner's Athena tasks and `dataplatform query` use it; no Lambda or Glue bundle does.
"""
