"""The Unity-style demo: the stated preset, and a genetic algorithm that improves on it."""

from __future__ import annotations

import numpy as np

from annrl.agents.unity import UNITY_LAYERS, UnityConfig, UnityDemo, fitness_of, run_demo, unity_settings


def test_the_preset_has_the_stated_settings():
    s = unity_settings()
    assert (s.n_rays, s.ray_spread_deg, s.stall_time, s.laps) == (5, 90.0, 7.0, 1)
    np.testing.assert_allclose(np.degrees(s.ray_angles()), [-45.0, -22.5, 0.0, 22.5, 45.0])
    demo = UnityDemo(UnityConfig(generations=1))
    assert UNITY_LAYERS == (5, 4, 3, 2) and demo.net.sizes == [5, 4, 3, 2]
    assert demo.net.hidden.name == "sigmoid" and demo.net.output.name == "sigmoid"
    assert demo.net.population == 30 and demo.ga.population_.shape == (30, 5 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2)
    demo.close()


def test_fitness_is_the_fraction_of_checkpoints():
    s = unity_settings()
    info = {"checkpoints": np.array([0, 10, 40, 55])}
    np.testing.assert_allclose(fitness_of(info, s), [0.0, 0.25, 1.0, 1.0])


def test_a_car_that_stands_still_dies_after_seven_seconds():
    from annrl.envs import CarTrackVecEnv

    env = CarTrackVecEnv(1, "oval", continuous=True, settings=unity_settings(), autoreset_mode="SameStep")
    env.reset(seed=0)
    steps = 0
    while True:
        steps += 1
        _, _, terminated, _, info = env.step(np.zeros((1, 2), dtype=np.float32))
        if terminated[0]:
            break
    assert steps == 140 and not info["final_info"]["crashed"][0]  # 7 s / 0.05 s, no wall touched


def test_best_fitness_improves_over_generations_on_a_fixed_seed():
    demo = UnityDemo(UnityConfig(track="rounded_rectangle", generations=8, seed=0))
    best = [demo.generation().best for _ in range(8)]
    demo.close()
    assert np.all(np.diff(best) >= 0)  # elites keep their fitness: same start every generation
    assert best[-1] >= best[0] + 0.15, best


def test_run_demo_writes_gif_figure_and_metrics(tmp_path):
    metrics = run_demo(tmp_path, UnityConfig(generations=2, population=6), animate=2, frame_every=10)
    assert (tmp_path / "evolution.gif").stat().st_size > 0 and (tmp_path / "fitness.png").exists()
    assert len(metrics["best_fitness"]) == 2 and (tmp_path / "metrics.json").exists()
