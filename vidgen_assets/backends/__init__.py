"""Generation backends behind one interface (`base.Backend`)."""

from __future__ import annotations

from vidgen_assets.backends.base import Backend


class BackendUnavailable(RuntimeError):
    """The spec asks for a backend this installation cannot use."""


def get_backend(name: str, chunk_seconds: float = 5.0) -> Backend:
    """The backend a spec's `backend:` field names."""
    if name == "animatic":
        from vidgen_assets.backends.animatic import AnimaticBackend

        return AnimaticBackend(chunk_seconds=chunk_seconds)
    if name == "replicate":
        raise BackendUnavailable(
            "backend 'replicate' is not available in this version yet; use backend: animatic "
            "(the Replicate backend is tracked as its own issue)"
        )
    raise BackendUnavailable(f"unknown backend {name!r}; known: animatic, replicate")
