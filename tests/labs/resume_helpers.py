"""Shared by the labs' resume tests: a SIGTERM that arrives in the middle of one phase of training."""

from contextlib import contextmanager

from annrl.io.resume import TrainerHooks


@contextmanager
def sigterm_in_phase(monkeypatch, stop, phase: str, at_epoch: int):
    """Inside the block, the checkpointer's hooks see ``stop`` requested by SIGTERM once phase ``phase``
    reaches epoch ``at_epoch`` (as if the signal came then); afterwards the hooks are the real ones."""
    original = TrainerHooks.after_epoch

    def after_epoch_with_trip(self, state):
        if self.phase == phase and state.epoch >= at_epoch:
            stop.requested, stop.signal_name, stop.signal_number = True, "SIGTERM", 15
        return original(self, state)

    monkeypatch.setattr(TrainerHooks, "after_epoch", after_epoch_with_trip)
    try:
        yield
    finally:
        monkeypatch.setattr(TrainerHooks, "after_epoch", original)
