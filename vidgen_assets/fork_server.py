"""Preloaded by the CLI's worker-pool fork server (see `runner.worker_context`): the fork server dies
with the process that started it, instead of outliving a CLI killed by SIGKILL."""

from vidgen_assets.processes import guard_fork_server

guard_fork_server()
