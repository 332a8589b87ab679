"""Logic of the workflow's own steps (resolve the run, check quality, write the audit). No AWS event shapes."""
