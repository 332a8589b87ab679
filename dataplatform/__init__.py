"""Shared runtime of the data platform: config, connectors, layout, state, audit, transforms, local mode."""
