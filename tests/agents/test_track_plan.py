"""--tracks: what a run trains on, drawn from training seeds only, one vectorised step for all tracks."""

from __future__ import annotations

import numpy as np
import pytest

from annrl.agents import ga, make_rng
from annrl.agents.envs import EnvPool, EnvShape
from annrl.agents.neuroevolution import PopulationEvaluator, policy_network
from annrl.agents.track_plan import TrackPlan
from annrl.envs.track_families import HELDOUT_SEEDS
from annrl.errors import InputError


def test_the_spec_gives_stages_and_bad_ones_get_one_line_errors():
    assert TrackPlan("family:hard").stages == [["family:hard"]]
    assert TrackPlan("oval, s_bends").stages == [["oval", "s_bends"]]
    assert TrackPlan("family:easy,family:medium,family:hard").stages == [["family:easy"], ["family:medium"],
                                                                          ["family:hard"]]
    for bad, words in (("family:easy,oval", "comma list"), ("family:huge", "families among"),
                       ("nowhere", "track must be one of"), (f"family:hard:{HELDOUT_SEEDS[0]}", "benchmark")):
        with pytest.raises(InputError, match=words):
            TrackPlan(bad).draw(0, 1)


def test_family_draws_are_training_seeds_below_the_pool_and_repeat_with_the_seed():
    plan = TrackPlan("family:hard", pool=5)
    names = [t.name for t in plan.draw(11, 40)]
    seeds = {int(name.split(":")[2]) for name in names}
    assert seeds <= set(range(5)) and len(seeds) >= 3
    assert [t.name for t in plan.draw(11, 40)] == names
    assert plan.draw(11, 1)[0] is plan.draw(11, 1)[0]  # loaded (and its tables built) once


def test_a_curriculum_moves_on_at_its_level_and_stops_at_the_last_stage():
    plan = TrackPlan("family:easy,family:hard", level=0.75)
    assert not plan.advance(0.7) and plan.stage == 0
    assert plan.advance(0.75) and plan.stage == 1
    assert not plan.advance(1.0) and plan.stage == 1
    assert plan.draw(0, 1)[0].name.startswith("family:hard:")


def test_a_generation_puts_every_network_on_the_same_drawn_tracks():
    config = ga.Config(env="annrl/CarTrack-v0", population=3, episodes_per_member=2, tracks="oval,hairpins,s_bends",
                       continuous=True)
    plan = TrackPlan(config.tracks)
    shape = EnvShape.probe(config)
    net = policy_network(config, shape, 3, make_rng(0))
    evaluator = PopulationEvaluator(config, net, shape, plan)
    evaluator.fitness(np.array(net.flat_), seed=4)
    drawn = plan.draw(4, 2)
    assert evaluator.env.sim.car_tracks == [drawn[k % 2] for k in range(6)]
    evaluator.close()


def test_ga_trains_over_a_list_of_tracks_and_reports_them():
    config = ga.Config(env="annrl/CarTrack-v0", population=4, total_steps=3000, eval_every=3000, eval_episodes=2,
                       final_eval_episodes=2, tracks="family:easy,family:hard", track_pool=3, curriculum_level=0.0)
    metrics = ga.train(config, make_rng(0)).metrics
    # Level 0 moves the curriculum on at the first evaluation.
    assert metrics["tracks"]["stages"] == ["family:easy", "family:hard"] and metrics["tracks"]["stage"] == 1
    assert metrics["tracks"]["moved_on"][0][1] == 1


def test_an_env_pool_resets_each_episode_onto_a_track_drawn_from_its_seed():
    plan = TrackPlan("oval,hairpins")
    pool = EnvPool("annrl/CarTrack-v0", 4, plan=plan)
    pool.reset(np.random.default_rng(1))
    for k in range(4):
        assert pool.envs[k].unwrapped.track is plan.draw(int(pool.seeds[k]), 1)[0]
    assert {env.unwrapped.track.name for env in pool.envs} == {"oval", "hairpins"}
    pool.close()
