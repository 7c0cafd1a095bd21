"""Gymnasium environments: cars on 2D tracks that must learn to drive without touching the walls.

Importing this package registers ``"annrl/CarTrack-v0"``::

    import gymnasium as gym
    import annrl.envs

    env = gym.make("annrl/CarTrack-v0", track="oval")                      # one car
    envs = gym.make_vec("annrl/CarTrack-v0", num_envs=1024, track="s_bends")  # many cars
"""

from __future__ import annotations

import gymnasium as gym

from annrl.envs.car_env import CarTrackEnv, CarTrackVecEnv
from annrl.envs.core import ACTION_NAMES, CarSimulator
from annrl.envs.settings import CarSettings
from annrl.envs.tracks import Track, list_tracks, load_track

ENV_ID = "annrl/CarTrack-v0"

__all__ = [
    "ACTION_NAMES",
    "ENV_ID",
    "CarSettings",
    "CarSimulator",
    "CarTrackEnv",
    "CarTrackVecEnv",
    "Track",
    "list_tracks",
    "load_track",
]

if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point="annrl.envs.car_env:CarTrackEnv",
        vector_entry_point="annrl.envs.car_env:CarTrackVecEnv",
        max_episode_steps=CarSettings().max_episode_steps,
    )
