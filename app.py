#!/usr/bin/env python3
"""CDK entry point (`cdk synth` / `cdk deploy` run this through cdk.json). The app itself: infra/app_builder.py."""

from infra.app_builder import build_app

build_app().synth()
