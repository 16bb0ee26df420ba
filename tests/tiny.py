"""The smallest config the CLI tests run, as TOML: a 4x4 dot, an MLP of width 16, 6 training
steps, 16 samples. Each test module adds the sections it exercises ([sweep], [search], ...)."""


def tiny_toml(*, seed: int = 5, n: int = 3, n_bootstrap: int = 10) -> str:
    return f"""
[run]
seed = {seed}
n = {n}
[target]
kind = "dots"
side = 4
[model]
kind = "mlp"
width = 16
depth = 1
[train]
steps = 6
batch_size = 4
n_checkpoints = 2
first_checkpoint = 3
[sampler]
n_steps = 6
n_samples = 16
[metrics]
n_bootstrap = {n_bootstrap}
reference_samples = 32
"""
