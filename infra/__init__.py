"""CDK app of the data platform: one construct per concern, composed by a thin stack (infra.stack)."""

import os

# Node 20 works with the pinned CDK; jsii's end-of-life banner (printed on the first aws_cdk import) would only
# clutter synth, the local runner's output and the tests. Set here, before any module of this package imports
# aws_cdk, so every way in (app.py, the local runner, bundle_sizes, tests) is covered.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
