"""Fixtures shared by test files: one local Ray."""

import pytest


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the test process (started once: it takes seconds)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        # workers at the tests' own priority: Ray's default (nice 15) starves them whenever the other
        # pytest worker keeps a core busy, and a few seconds of work then take minutes
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _system_config={"worker_niceness": 0})
    return ray
