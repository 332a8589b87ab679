"""The state machine definition, one module per phase (see definition.py for the order)."""
