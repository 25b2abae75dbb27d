"""How many chunk pairs the CLI runner runs at once."""

import os

from vidgen_assets.runner import pair_workers
from vidgen_assets.settings import Settings


def test_pair_workers_never_exceed_the_pairs_nor_the_cpus_for_a_local_backend(tmp_path):
    settings = Settings(data_dir=tmp_path, max_parallel_pairs=12)
    cpus = len(os.sched_getaffinity(0))  # what the process may use (a container's cpuset), not the machine's
    assert pair_workers(settings, "replicate", 6) == 6  # model calls wait on the network: one worker per pair
    assert pair_workers(settings, "replicate", 20) == 12  # the setting caps them
    assert pair_workers(settings, "replicate", None) == 12  # a prompt-only spec: beats not known yet
    assert pair_workers(settings, "animatic", 6) == min(6, cpus)  # CPU-bound: more would only add memory
    assert pair_workers(Settings(data_dir=tmp_path, max_parallel_pairs=1), "replicate", 6) == 1
