"""The run console: server-rendered pages of runs, datasets, lineage and marts on the API app."""
