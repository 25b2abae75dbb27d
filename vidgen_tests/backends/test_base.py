"""What a backend can do is declared on it (`base.Backend`), with defaults a local backend keeps."""

from __future__ import annotations

from vidgen_assets.backends.animatic import AnimaticBackend
from vidgen_assets.backends.base import Backend


def test_the_animatic_keeps_every_default_but_its_identity() -> None:
    backend: Backend = AnimaticBackend()
    assert backend.identity.startswith("animatic@")
    assert (backend.reference_identity, backend.speech_identity, backend.max_concurrency) == ("", None, 1)
    assert backend.ask_llm is None  # the library plan stands
    backend.start_render()  # nothing to ask before a render
