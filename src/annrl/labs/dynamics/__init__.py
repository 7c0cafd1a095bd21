"""The dynamics lab: ``lab`` (learn a vector field), ``rollout`` (the RK4 rollout fit), ``cli``, ``figures``."""
