"""The oracle tables: each encoding's own error before any network (no noise), measured and analytic.

:func:`quantisation_error` reads each encoding's target back with the exact ``mle`` decoder;
:func:`oracle_table` decodes each encoding's targets with each decoder, against the analytic bias and RMS
of the encoding's rounding (:func:`predicted_error`, ``book/codecs.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from dark import codecs
from dark.study.trials import decode_all, subseed


def quantisation_error(
    trials: int,
    seed: int = 0,
    stride: int = 4,
    size: tuple[int, int] = (40, 80),
    sigma: float = 2.0,
) -> pd.DataFrame:
    """The error of the ground-truth target itself under each encoding (no network, no noise).

    Random joints (input px, uniform away from the border) are encoded with :func:`dark.codecs.encode`
    and the encoded target's centre is read back with the exact ``mle`` decoder. Returns columns
    ``encoding, grid_px, rmse, analytic``: ``grid_px`` the rounding step in heatmap px (1 on the heatmap
    grid, ``1 / stride`` on the input grid, 0 unbiased) and ``analytic = grid_px sqrt(2 / 12)``, the
    Euclidean RMSE of rounding both coordinates of a uniform position.
    """
    h, w = size
    gen = np.random.default_rng(seed)
    joints_hm = np.stack([gen.uniform(5, w - 6, trials), gen.uniform(5, h - 6, trials)], -1)
    truth = torch.as_tensor(joints_hm)
    rows = []
    for label, method, grid, step in [
        ("unbiased", "unbiased", "heatmap", 0.0),
        ("quantised, heatmap grid", "quantized", "heatmap", 1.0),
        ("quantised, input grid", "quantized", "input", 1.0 / stride),
    ]:
        targets = codecs.encode(
            truth[:, None], size=size, sigma=sigma, method=method, grid=grid, stride=stride
        )
        est = decode_all(targets[:, 0], sigma, ["mle"])["mle"]
        rmse = float((est - truth).pow(2).sum(-1).mean().sqrt())
        rows.append(dict(encoding=label, grid_px=step, rmse=rmse, analytic=step * math.sqrt(2 / 12)))
    return pd.DataFrame(rows)


def predicted_error(encoding: str, stride: float) -> tuple[float, float]:
    """Analytic per-axis ``(bias, RMS)`` in input px of an encoding's target centre, for a joint
    uniformly distributed on the grid (``book/codecs.md``).

    The rounding error on a grid of step ``g`` (1 input px on the input grid, ``stride`` on the heatmap
    grid, times the encoding's ``grid_step``) is ``U(-g/2, g/2)`` for nearest (bias 0, RMS
    ``g sqrt(1/12)``), ``U(0, g)`` for ceil (bias ``+g/2``, RMS ``g sqrt(1/3)``), ``U(-g, 0)`` for floor,
    and for random rounding ``f`` or ``f - 1`` with probabilities ``1 - f`` and ``f`` (``f`` the
    fractional part): bias 0, RMS ``g sqrt(1/6)``.

    Example:
        >>> [round(v, 3) for v in predicted_error("ceil", 4)]
        [0.5, 0.577]
        >>> [round(v, 3) for v in predicted_error("quantized-heatmap", 8)]
        [0.0, 2.309]
    """
    e = codecs.ENCODINGS[encoding]
    if e.method != "quantized":
        return 0.0, 0.0
    g = (1.0 if e.grid == "input" else float(stride)) * e.grid_step
    bias = {"nearest": 0.0, "ceil": 0.5, "floor": -0.5, "random": 0.0}[e.rounding] * g
    rms = {"nearest": 1 / 12, "ceil": 1 / 3, "floor": 1 / 3, "random": 1 / 6}[e.rounding] ** 0.5 * g
    return bias, rms


def oracle_table(
    encodings: Sequence[str] | None = None,
    decoders: Sequence[str] | None = None,
    n: int = 2000,
    size: tuple[int, int] = (40, 80),
    sigma: float = 2.0,
    stride: float = 4,
    seed: int = 0,
) -> pd.DataFrame:
    """Each encoding's targets decoded by each decoder, against the true joints, in input px.

    True joints are uniform (continuous) on the input grid, ``3 sigma + 1`` heatmap px away from the
    border; each encoding (:data:`dark.codecs.ENCODINGS`) makes its targets through
    :class:`dark.codecs.Codec` (``random-heatmap`` from a generator seeded from ``seed``), each decoder
    reads them (no noise), and :meth:`~dark.codecs.Codec.to_input` maps the estimates back.

    Args:
        encodings, decoders: names (default: all of each table).
        n: joints; size: ``(h, w)`` of the heatmaps; sigma: heatmap px; stride: input px per heatmap px.

    Returns:
        One row per (encoding, decoder): ``encoding, decoder, bias_x, bias_y, rmse_x, rmse_y``
        (measured, input px), ``predicted_bias, predicted_rms`` (:func:`predicted_error`, per axis:
        what an exact decoder would show), ``se_bias`` (the standard error of a measured bias,
        ``predicted_rms / sqrt(n)``) and ``n``.
    """
    h, w = size
    names = list(codecs.ENCODINGS) if encodings is None else list(encodings)
    gen = np.random.default_rng(subseed(seed, n, sigma, stride))
    m = 3 * sigma + 1
    joints = np.stack([gen.uniform(m, w - 1 - m, n), gen.uniform(m, h - 1 - m, n)], -1) * stride
    truth = torch.as_tensor(joints)[:, None]  # (n, 1, 2) input px
    visible = torch.ones(n, 1, dtype=torch.bool)
    rows = []
    for name in names:
        codec = codecs.Codec(name, sigma, stride, "stride", (h * stride, w * stride), (h, w))
        generator = torch.Generator().manual_seed(subseed(seed, 3, n))
        targets, _ = codec.targets(truth, visible, generator=generator)
        bias, rms = predicted_error(name, stride)
        for decoder, est in decode_all(targets[:, 0], sigma, decoders).items():
            err = codec.to_input(est) - truth[:, 0]
            rows.append(
                dict(
                    encoding=name,
                    decoder=decoder,
                    bias_x=float(err[:, 0].mean()),
                    bias_y=float(err[:, 1].mean()),
                    rmse_x=float(err[:, 0].pow(2).mean().sqrt()),
                    rmse_y=float(err[:, 1].pow(2).mean().sqrt()),
                    predicted_bias=bias,
                    predicted_rms=rms,
                    se_bias=rms / math.sqrt(n),
                    n=n,
                )
            )
    return pd.DataFrame(rows)
