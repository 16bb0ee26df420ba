"""tsearch: what a diffusion model learns from its training set, and which training set makes it generalize."""

__version__ = "0.1.0"
