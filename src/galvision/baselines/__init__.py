"""Classical methods measured beside the models."""

from galvision.baselines.deconvolution import (
    RL_ITERATIONS,
    WIENER_BALANCES,
    display_psnr,
    reconvolve,
    richardson_lucy_restore,
    tune_baseline,
    wiener_restore,
)

__all__ = [
    "RL_ITERATIONS",
    "WIENER_BALANCES",
    "display_psnr",
    "reconvolve",
    "richardson_lucy_restore",
    "tune_baseline",
    "wiener_restore",
]
