"""Shared by the agent tests: a stop request that trips after a number of checks."""


class StopAfter:
    """Looks like :class:`annrl.io.StopRequest`; ``requested`` turns True on its ``n``-th read."""

    def __init__(self, n: int):
        self.n, self.reads = n, 0

    @property
    def requested(self) -> bool:
        self.reads += 1
        return self.reads >= self.n

    exit_code = 143

    def message(self, path=None) -> str:
        return f"stopped; saved {path}"
