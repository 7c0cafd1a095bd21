"""The memory lab: ``lab`` (Hopfield recall, working memory), ``cli`` (``annrl memory``), ``figures``."""
