"""Fixtures shared by test files: one local Ray."""

import pytest


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the test process (started once: it takes seconds)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    return ray
