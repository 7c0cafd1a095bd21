"""The XOR lab: ``lab`` (config, ``train(config, rng) -> XorResult``), ``cli`` (``annrl xor``), ``figures``."""
