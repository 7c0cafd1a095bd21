"""Training over many tracks (``--tracks``): which track each car drives, and when a curriculum moves on.

``--tracks`` is one of

* ``family:NAME``: tracks drawn from a family of :mod:`annrl.envs.track_families`, from its training
  seeds only (``training_track`` refuses the benchmark's held-out seeds);
* a comma list of track names, files or ``family:NAME:SEED`` tracks: drawn uniformly from the list;
* a comma list of families, ``family:easy,family:medium,family:hard``: a curriculum that starts on the
  first and moves to the next once an evaluation drives ``curriculum_level`` of its episodes 3 laps
  without a crash.

Draws come from a generator seeded by the caller (a generation's or an episode's seed), never from the
run's own generator, so a run without ``--tracks`` draws exactly what it drew before, and a resumed run
draws the same tracks again. A family's tracks are the first ``track_pool`` training seeds: their lookup
tables are built once (about a second each) and reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.errors import InputError

FAMILY = "family:"


class TrackPlan:
    """The tracks a run trains on, stage by stage.

    Parameters
    ----------
    spec : str
        The ``--tracks`` text (see the module's docstring).
    pool : int
        Training seeds of a family drawn from: ``0 .. pool - 1``.
    level : float
        Share of evaluation episodes driven 3 clean laps that moves a curriculum to its next stage.
    """

    def __init__(self, spec: str, pool: int = 64, level: float = 0.8):
        from annrl.envs.track_families import FAMILIES

        items = [item.strip() for item in str(spec).split(",") if item.strip()]
        families = [item for item in items if item.startswith(FAMILY) and item.count(":") == 1]
        if not items or (families and len(families) != len(items)):
            raise InputError.invalid("--tracks", "family:NAME, a comma list of families (a curriculum) or a comma "
                                     "list of track names and files", spec)
        for item in families:
            if item[len(FAMILY):] not in FAMILIES:
                raise InputError.invalid("--tracks", f"families among {sorted(FAMILIES)}", item)
        self.stages = [[item] for item in families] if families else [items]
        self.pool, self.level, self.stage = int(pool), float(level), 0
        self._loaded: dict[tuple[str, int], Any] = {}
        for item in [] if families else items:  # names and files: refused now, not mid-run
            self._load(item, 0)

    @property
    def families(self) -> bool:
        return len(self.stages[0]) == 1 and self.stages[0][0].startswith(FAMILY)

    def draw(self, seed: int, n: int) -> list:
        """``n`` tracks of the current stage, drawn from a generator seeded with ``seed``."""
        rng = np.random.default_rng(int(seed))
        sources = self.stages[self.stage]
        picks = rng.integers(0, len(sources), size=n)
        seeds = rng.integers(0, self.pool, size=n)
        return [self._load(sources[p], int(s)) for p, s in zip(picks, seeds, strict=True)]

    def _load(self, source: str, seed: int):
        from annrl.envs.track_families import parse_spec, training_track
        from annrl.envs.tracks import load_track

        family = source.startswith(FAMILY) and source.count(":") == 1
        key = (source, seed if family else 0)
        if key not in self._loaded:
            if family:
                self._loaded[key] = training_track(source[len(FAMILY):], seed)
            elif source.startswith(FAMILY):  # family:NAME:SEED, never a held-out one
                track = parse_spec(source)
                training_track(source.split(":")[1], int(source.split(":")[2]))  # raises for a benchmark seed
                self._loaded[key] = track
            else:
                self._loaded[key] = load_track(source)
        return self._loaded[key]

    def advance(self, success_rate: float) -> bool:
        """Move to the next stage when ``success_rate`` reaches the level; True when it moved."""
        if success_rate >= self.level and self.stage + 1 < len(self.stages):
            self.stage += 1
            return True
        return False

    def describe(self) -> dict[str, Any]:
        """For ``metrics.json``: the stages, the one reached, the level and the family pool."""
        return {"stages": [",".join(s) for s in self.stages], "stage": self.stage, "level": self.level,
                "pool": self.pool}


def plan_of(config: Any) -> TrackPlan | None:
    """The plan of ``config.tracks`` (None when empty: the run drives ``config.track``)."""
    spec = getattr(config, "tracks", "")
    if not spec:
        return None
    from annrl.agents.envs import is_car

    if not is_car(config.env):
        raise InputError.invalid("--tracks", "used with --env annrl/CarTrack-v0", config.env)
    return TrackPlan(spec, config.track_pool, config.curriculum_level)


def tracks_for(config: Any, plan: TrackPlan | None, episodes: int, seed: int):
    """The ``track`` argument of ``episodes`` evaluation episodes: ``config.track``, or a list drawn from the plan."""
    return config.track if plan is None else plan.draw(seed, episodes)


def clean_share(episodes: Any, laps: int = 3) -> float:
    """Share of episodes that drove ``laps`` laps (success ends an episode before any later crash)."""
    return 0.0 if episodes.laps is None else float(np.mean(episodes.laps >= laps))


def moved_on(plan: TrackPlan | None, step: int, episodes: Any, stages: list[list[int]]) -> None:
    """After an evaluation: move a curriculum on when its level is reached, noting ``[step, stage]``."""
    if plan is not None and plan.advance(clean_share(episodes)):
        stages.append([int(step), plan.stage])
