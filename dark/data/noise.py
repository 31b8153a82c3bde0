"""The depth sensor's model: what a D415 makes of the clean depth a view's rays find.

It adds depth noise growing with the square of the depth, drops pixels along depth edges
(silhouettes) and at random, and quantises to 0.1 mm like the D415's 16-bit depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: depth unit of the stored maps, metres (0.1 mm, like the sensor); 0 = no measurement
DEPTH_UNIT: float = 1e-4
#: the farthest depth a 16-bit map can hold, metres
MAX_DEPTH: float = 65535 * DEPTH_UNIT


@dataclass(frozen=True)
class SensorNoise:
    """D415-like depth noise.

    The Gaussian depth noise is drawn once per 2x2 pixel block (the sensor's stereo matching makes
    its noise spatially correlated); dropped pixels are decided pixel by pixel.

    Attributes:
        sigma0: noise std at zero depth, metres.
        k: noise std grows as ``sigma0 + k Z^2`` (metres, Z in metres).
        edge_step: a depth step (metres) to a 4-neighbour that makes a pixel an edge pixel.
        edge_drop: probability of dropping an edge pixel.
        shadow: pixels of the far side of a step toward +v that are dropped (the projector's shadow).
        speckle: probability of dropping any pixel.
    """

    sigma0: float = 0.001
    k: float = 0.0012
    edge_step: float = 0.08
    edge_drop: float = 0.6
    shadow: int = 2
    speckle: float = 0.004


def add_sensor_noise(
    depth: np.ndarray, noise: SensorNoise, rng: np.random.Generator, chunk: int = 8
) -> np.ndarray:
    """Noise, dropped pixels and 0.1 mm quantisation.

    Args:
        depth: ``(B, H, W)`` clean depth, metres.
        noise: the noise model.
        rng: the random stream (seeded by the caller).

    Returns:
        ``(B, H, W)`` uint16 depth in units of 0.1 mm (``DEPTH_UNIT``); 0 = no measurement.
    """
    if len(depth) > chunk:  # a few views at a time: the temporaries stay in the CPU cache
        return np.concatenate(
            [add_sensor_noise(depth[i : i + chunk], noise, rng) for i in range(0, len(depth), chunk)]
        )
    d = depth.astype(np.float32)
    dv = np.abs(d[:, 1:, :] - d[:, :-1, :]) > noise.edge_step
    du = np.abs(d[:, :, 1:] - d[:, :, :-1]) > noise.edge_step
    step = np.zeros(d.shape, dtype=bool)
    step[:, 1:, :] |= dv
    step[:, :-1, :] |= dv
    step[:, :, 1:] |= du
    step[:, :, :-1] |= du
    # projector shadow: the far side of a step toward +v loses a few pixels
    shadow = np.zeros_like(step)
    with np.errstate(invalid="ignore"):
        far = (d[:, :, 1:] - d[:, :, :-1]) > noise.edge_step  # the pixel at +v is farther
    for s in range(1, noise.shadow + 1):
        shadow[:, :, s:] |= far[:, :, : d.shape[2] - s]
    u = rng.random(d.shape, dtype=np.float32)
    drop = (step & (u < noise.edge_drop)) | (shadow & (u < 0.9)) | (u > 1.0 - noise.speckle)
    sigma = np.float32(noise.sigma0) + np.float32(noise.k) * d * d
    # one normal draw per 2x2 block: stereo matching makes a D415's noise spatially correlated
    b, h, w = d.shape
    blocks = rng.standard_normal((b, (h + 1) // 2, (w + 1) // 2), dtype=np.float32)
    noisy = d + blocks.repeat(2, axis=1).repeat(2, axis=2)[:, :h, :w] * sigma
    with np.errstate(invalid="ignore"):
        drop |= ~(noisy > 0.2) | ~(noisy < MAX_DEPTH)  # also NaN / inf
    noisy[drop] = 0.0
    return np.rint(noisy * np.float32(1.0 / DEPTH_UNIT)).astype(np.uint16)
