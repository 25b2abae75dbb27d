"""Fixtures of the backend tests: the fake Replicate API."""

from vidgen_tests.fakes import fake_replicate, replicate_env

__all__ = ["fake_replicate", "replicate_env"]
