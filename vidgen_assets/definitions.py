"""The code location `dagster dev`, `dagster job execute` and `dagster asset materialize` load.

Settings come from the environment (`VIDGEN_DATA`, ...); tests and the CLI build their own definitions
with `build_definitions(Settings(...))` instead of importing this module.
"""

from __future__ import annotations

from vidgen_assets.defs import build_definitions
from vidgen_assets.settings import Settings

defs = build_definitions(Settings.from_env())
