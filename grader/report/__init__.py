"""Renderers of the one result model (``grader.model``) into each output format."""
