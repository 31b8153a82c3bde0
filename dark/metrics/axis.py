"""The report's per-axis PCKh (moai's ``_calculate_pck`` since commit 1d5bd03) and its field-of-view masks.

Elements are ``(frame, joint, axis)``. Along each axis the error ``|gt - pred|`` is divided by the head
extent along that axis, ``|gt[:, 2] - gt[:, 3]|`` (ground-truth Neck and HeadEnd, whatever their masks),
and the element is correct when the quotient is ``< alpha`` (strict; no epsilon: a zero extent gives
inf or nan, which fails, exact hits included). The compared elements are those where the ground-truth or
the predicted mask is set (OR); an element where exactly one is set (XOR) fails. The value is
``100 * correct / compared`` (percent).

Masks: the ground truth's are per axis, by the field of view (moai's ``VisibilityFOV`` on the 320 x 160
input: :func:`fov_mask`); the prediction's come from the heatmap (``dark.codecs.report_visibility``, the
same on both axes, given ``(N, K)``). Coordinates are input px of the original 160 x 320 map (ours: pixel
``j`` has its centre at ``j``; moai's: at ``j + 0.5``; differences, hence the metric, do not see it; the
field of view does, see :func:`fov_mask`).

The batch reduction (``docs/report-code.md``, item 1): moai's test value is the unweighted mean over the
loader's batches
(24 SH quant, 16 SH cont and HRNet; the last batch smaller, same weight) of each batch's pooled value;
:func:`pckh_per_axis` does that with ``batch_size=``. The metric table (``pckh_axis@<alpha>``, frame sums,
intervals) computes the one pooled ratio over all frames, since a ratio of sums is what resamples and
sums over frames. The two are equal when every batch compares as many elements; otherwise they differ by
the covariance of the batches' values with their element counts. On a realistic test split (1000 frames
of 18 joints in clips of uneven difficulty and field of view, a tenth predicted invisible, batches of 16
or 24 in clip order; ``tests/test_metrics.py``) the difference is up to about 0.1 percentage point, of
either sign: far below the book's intervals, but not zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dark.metrics.frames import as_numpy

#: the input the report's ``VisibilityFOV`` is configured with: ``(height, width)`` = 160 x 320 input px
REPORT_INPUT_SIZE: tuple[int, int] = (160, 320)
#: moai's ``joint_indices`` of PCKh: Neck and HeadEnd of the 18 heatmap joints (``skeleton.HEAD_SEGMENT_18``)
REPORT_HEAD: tuple[int, int] = (2, 3)


def fov_mask(gt, size: tuple[int, int] = REPORT_INPUT_SIZE) -> np.ndarray:
    """The report's ground-truth masks, per axis: ``(N, K, 2)`` input px -> ``(N, K, 2)`` bool.

    moai (``VisibilityFOV``, width 320, height 160): ``0 <= x < W`` and ``0 <= y < H`` independently, in
    its convention where pixel ``j`` has its centre at ``j + 0.5``. In ours (centre at ``j``) that is
    ``-0.5 <= x < W - 0.5`` (likewise y): a joint outside along x and inside along y has masks (0, 1).

    >>> fov_mask(np.array([[[-0.5, 159.4], [319.5, -0.6]]])).tolist()
    [[[True, True], [False, False]]]
    """
    gt = as_numpy(gt)
    if gt.shape[-1:] != (2,):
        raise ValueError(f"gt must have shape (..., 2) = (x, y), got {gt.shape}")
    h, w = size
    x, y = gt[..., 0] + 0.5, gt[..., 1] + 0.5  # moai's coordinates
    return np.stack([(x >= 0) & (x < w), (y >= 0) & (y < h)], axis=-1)


def axis_mask(mask, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A mask ``(N, K)`` (the same on both axes) or ``(N, K, 2)`` as ``(N, K, 2)`` bool."""
    m = as_numpy(mask, dtype=bool)
    if m.shape == shape[:2]:
        m = np.repeat(m[..., None], 2, axis=-1)
    if m.shape != shape:
        raise ValueError(f"{name} must have shape (N, K) or (N, K, 2) = {shape}, got {m.shape}")
    return m


def axis_elements(
    pred, gt, alpha: float, gt_mask: np.ndarray, pred_mask: np.ndarray, head: Sequence[int] = REPORT_HEAD
) -> tuple[np.ndarray, np.ndarray]:
    """``(correct, compared)``, both ``(N, K, 2)`` bool, of moai's per-axis PCKh (module docstring).

    ``pred``, ``gt`` ``(N, K, 2)`` input px (float64); masks ``(N, K, 2)`` bool. ``correct`` is already
    False where the masks disagree (XOR) and where the head extent along the axis is 0.
    """
    pred, gt = as_numpy(pred), as_numpy(gt)
    if max(head) >= gt.shape[1]:
        raise ValueError(f"the per-axis PCKh needs the head joints {tuple(head)}; got {gt.shape[1]} joints")
    extent = np.abs(gt[:, head[0], :] - gt[:, head[1], :])[:, None, :]  # (N, 1, 2), no epsilon
    with np.errstate(divide="ignore", invalid="ignore"):
        correct = np.abs(gt - pred) / extent < alpha  # inf and nan compare False
    correct &= ~(gt_mask ^ pred_mask)
    return correct, gt_mask | pred_mask


def pckh_per_axis(
    pred,
    gt,
    alpha: float,
    *,
    head: Sequence[int] = REPORT_HEAD,
    gt_visible=None,
    pred_visible=None,
    batch_size: int | None = None,
) -> float:
    """The report's per-axis PCKh@alpha in percent (moai's ``_calculate_pck``; module docstring).

    Args:
        pred, gt: ``(N, K, 2)`` input px (numpy or torch).
        alpha: the threshold as a fraction of the per-axis head extent (strict ``<``).
        head: the two ground-truth joints whose per-axis distance is the extent (moai: ``[2, 3]``).
        gt_visible: ``(N, K)`` or ``(N, K, 2)`` bool ground-truth masks (default: all set; the report's
            are :func:`fov_mask` of ``gt``).
        pred_visible: ``(N, K)`` or ``(N, K, 2)`` bool predicted masks (default: ``gt_visible``).
        batch_size: None: one pooled ratio over all elements (what the metric table computes); an int:
            moai's epoch value, the unweighted mean of each consecutive batch's pooled value (the last
            batch may be smaller), NaN if any batch compares nothing.

    Returns:
        percent; NaN when nothing is compared.

    >>> gt = np.array([[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [10.0, 2.0]]])  # extent (10, 2)
    >>> pckh_per_axis(gt + [0.9, 0.3], gt, 0.1)  # x: 0.09 < 0.1 correct; y: 0.15 fails
    50.0
    """
    pred, gt = as_numpy(pred), as_numpy(gt)
    if pred.ndim != 3 or pred.shape[-1] != 2 or gt.shape != pred.shape:
        raise ValueError(f"pred and gt must both have shape (N, K, 2), got {pred.shape} and {gt.shape}")
    gm = np.ones(gt.shape, bool) if gt_visible is None else axis_mask(gt_visible, gt.shape, "gt_visible")
    pm = gm if pred_visible is None else axis_mask(pred_visible, gt.shape, "pred_visible")
    correct, compared = axis_elements(pred, gt, alpha, gm, pm, head)
    step = len(gt) if batch_size is None else int(batch_size)
    if step < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    values = []
    for i in range(0, max(len(gt), 1), step):
        c, s = correct[i : i + step], compared[i : i + step]
        n = s.sum()
        values.append(100.0 * c[s].sum() / n if n else float("nan"))
    return float(np.mean(values))
