"""Tests of the project configuration: the ASGI entry point and its probes."""
