"""CDK app of the data platform: one construct per concern, composed by a thin stack (infra.stack)."""
