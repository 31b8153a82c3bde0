"""Figures and tables of the data notebook: samples with their joints, split sizes, quantisation error.

The quantisation error is what rounding the exact joints would introduce, before any network:
rounding to the input grid (``R(x) - x``, at most half an input pixel per axis) and to the
heatmap grid (to heatmap pixels with ``dark.codecs.to_heatmap``, round, back with
``dark.codecs.to_input``: at most half a heatmap pixel, i.e. ``stride / 2`` input pixels), ``R`` being
the encoders' own rule (:func:`dark.codecs.centres`; "nearest" is ``floor(x + 0.5)``, never numpy's
round-half-to-even). A uniform error on ``[-s/2, s/2]`` has RMS ``s / sqrt(12)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from dark import codecs
from dark.data.motions import PARENTS_33
from dark.data.sample import Sample
from dark.design.skeleton import HEAD_SEGMENT_18, HEATMAP_JOINTS, STRIDE


def bones_18() -> list[tuple[int, int]]:
    """``(parent, child)`` pairs of the 18 heatmap joints: each joint to its nearest heatmap ancestor."""
    pairs = []
    for child, j in enumerate(HEATMAP_JOINTS):
        p = PARENTS_33[j]
        while p >= 0 and p not in HEATMAP_JOINTS:
            p = PARENTS_33[p]
        if p >= 0:
            pairs.append((HEATMAP_JOINTS.index(p), child))
    return pairs


def draw_sample(ax, sample: Sample, vmax: float = 6.0, title: bool = True) -> None:
    """A depth map (metres, grey, missing pixels black) with its joints and bones.

    Visible joints are filled red dots, hidden ones cyan crosses; the head segment (PCKh) is yellow.
    """
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("gray_r").with_extremes(bad="black")
    depth = np.ma.masked_equal(sample.depth, 0)
    ax.imshow(depth, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    j, vis = sample.joints, sample.visible
    for a, b in bones_18():
        ax.plot(*j[[a, b]].T, color="tab:orange", lw=1.0, alpha=0.8)
    ax.plot(*j[[2, 3]].T, color="yellow", lw=2.0)
    ax.scatter(*j[vis].T, s=10, c="red", zorder=3)
    ax.scatter(*j[~vis].T, s=14, c="cyan", marker="x", zorder=3)
    h, w = sample.depth.shape
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(f"{sample.subject} {sample.activity} {sample.view} #{sample.frame}", fontsize=8)


def show_samples(samples: Sequence[Sample], indices: Sequence[int] | None = None, ncols: int = 4):
    """A grid of samples with their joints (default: 8 evenly spaced ones). Returns the Figure."""
    import matplotlib.pyplot as plt

    if indices is None:
        indices = np.linspace(0, len(samples) - 1, min(8, len(samples))).astype(int)
    nrows = max(1, -(-len(indices) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.0 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), indices, strict=False):
        ax.axis("on")
        draw_sample(ax, samples[int(i)])
    fig.tight_layout()
    return fig


def show_rig(rig, paths: dict[str, np.ndarray] | None = None, room_half: float | None = None):
    """Top view of the sensors (position, optical axis) and of hips paths on the floor. Returns the Figure.

    Args:
        rig: a :class:`dark.data.cameras.Rig` (camera -> world poses, metres).
        paths: optional ``{name: (T, 2)}`` horizontal positions (metres) to draw.
        room_half: half-size of the room's square floor (metres), drawn when given.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    if room_half is not None:
        edge = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * room_half
        ax.plot(*edge.T, color="grey", lw=1)
    for name, xy in (paths or {}).items():
        ax.plot(*np.asarray(xy).T, lw=1, label=name)
    for name, r, t in zip(rig.names, rig.R, rig.t, strict=True):
        axis = r[:2, 2] / max(np.linalg.norm(r[:2, 2]), 1e-9)  # optical axis, on the floor plane
        ax.plot(*t[:2], "ks")
        ax.annotate("", xy=t[:2] + 0.6 * axis, xytext=t[:2], arrowprops={"arrowstyle": "->"})
        ax.text(*(t[:2] - 0.6 * axis), f"{name}\n{t[2]:.2f} m high", ha="center", va="center", fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if paths:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def split_table(splits: dict[str, Sequence[Sample]]) -> pd.DataFrame:
    """Views, multi-view frames, subjects and activities of each split.

    Args:
        splits: ``{"train": samples, ...}``.
    """
    rows = []
    for name, samples in splits.items():
        meta = _meta(samples)
        rows.append(
            {
                "split": name,
                "views": len(meta),
                "frames": len({(s, a, f) for s, a, _, f in meta}),
                "subjects": ", ".join(sorted({s for s, *_ in meta})),
                "activities": len({a for _, a, _, _ in meta}),
                "visible joints (%)": 100.0 * _visible(samples).mean() if len(meta) else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("split")


def _spaced(samples: Sequence[Sample], limit: int) -> list[Sample]:
    """At most ``limit`` evenly spaced samples (reading a real HUMAN4D split whole is slow)."""
    idx = (
        np.unique(np.linspace(0, len(samples) - 1, min(limit, len(samples))).astype(int))
        if len(samples)
        else []
    )
    return [samples[int(i)] for i in idx]


def _meta(samples: Sequence[Sample]) -> list[tuple[str, str, str, int]]:
    if hasattr(samples, "metadata"):  # HUMAN4D: from the file names, without reading the maps
        return samples.metadata()
    records = getattr(samples, "records", None)
    if records is not None:  # a rendered split: read the fields without building Samples
        m = samples.manifest
        subjects, acts, views = list(m["subjects"]), m["activities"], m["views"]
        return [
            (subjects[s], acts[a], views[v], int(f))
            for s, a, v, f in zip(
                records["subject"], records["activity"], records["view"], records["frame"], strict=True
            )
        ]
    return [(s.subject, s.activity, s.view, s.frame) for s in (samples[i] for i in range(len(samples)))]


def _visible(samples: Sequence[Sample], limit: int = 500) -> np.ndarray:
    records = getattr(samples, "records", None)
    if records is not None:
        return records["visible"]
    return np.stack([s.visible for s in _spaced(samples, limit)])


def head_sizes(samples: Sequence[Sample], limit: int = 5000) -> np.ndarray:
    """``(N,)`` head segments (input px) of a split (at most ``limit`` evenly spaced non-rendered samples)."""
    records = getattr(samples, "records", None)
    if records is not None:
        return records["head_size"]
    return np.array([s.head_size for s in _spaced(samples, limit)])


def joints_of(samples: Sequence[Sample], limit: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 18, 2)`` joints (input px) and ``(N, 18)`` visibility of a split.

    A rendered split gives all its views; other sources at most ``limit`` evenly spaced ones.
    """
    records = getattr(samples, "records", None)
    if records is not None:
        return records["joints"], records["visible"]
    items = _spaced(samples, limit)
    return np.stack([s.joints for s in items]), np.stack([s.visible for s in items])


def quantisation_errors(
    joints: np.ndarray, visible: np.ndarray | None = None, stride: int = STRIDE, rounding: str = "nearest"
) -> dict:
    """The error rounding would introduce on each grid, in input pixels.

    Args:
        joints: ``(..., 2)`` exact joints ``(x, y)`` in input px.
        visible: optional mask of the joints to keep (``joints.shape[:-1]``).
        stride: input px per heatmap px.
        rounding: the encoders' rounding rule (``"nearest"``, ``"ceil"`` or ``"floor"``; see
            :func:`dark.codecs.round_coords`).

    Returns:
        ``{"input": (M, 2), "heatmap": (M, 2)}``: quantised minus exact, per axis, input px.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[-1] != 2:
        raise ValueError(f"joints must be (..., 2), got shape {joints.shape}")
    pts = joints[visible] if visible is not None else joints.reshape(-1, 2)
    hm = torch.from_numpy(codecs.to_heatmap(pts, stride=stride))
    out = {}
    for grid in ("input", "heatmap"):
        centres = codecs.centres(hm, (1, 1), "quantized", grid, stride, rounding).numpy()
        out[grid] = codecs.to_input(centres, stride=stride) - pts
    return out


def quantisation_summary(errors: dict, stride: int = STRIDE) -> pd.DataFrame:
    """Mean, RMS and maximum of each grid's error per axis, next to the uniform law's ``s / sqrt(12)``."""
    rows = []
    for grid, err in errors.items():
        step = 1.0 if grid == "input" else float(stride)
        for axis, name in enumerate("xy"):
            e = err[:, axis]
            rows.append(
                {
                    "grid": grid,
                    "axis": name,
                    "mean (px)": e.mean(),
                    "RMS (px)": np.sqrt(np.mean(e * e)),
                    "uniform RMS (px)": step / np.sqrt(12.0),
                    "max |error| (px)": np.abs(e).max(),
                }
            )
        norm = np.linalg.norm(err, axis=1)
        rows.append(
            {
                "grid": grid,
                "axis": "euclidean",
                "mean (px)": norm.mean(),
                "RMS (px)": np.sqrt(np.mean(norm**2)),
                "uniform RMS (px)": step / np.sqrt(6.0),
                "max |error| (px)": norm.max(),
            }
        )
    return pd.DataFrame(rows).set_index(["grid", "axis"])


def quantisation_histogram(errors: dict, stride: int = STRIDE, bins: int = 40):
    """Histograms of the per-axis quantisation error on the input and heatmap grids. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, (grid, err) in zip(axes, errors.items(), strict=True):
        half = 0.5 if grid == "input" else stride / 2
        edges = np.linspace(-half, half, bins + 1)
        for axis, name in enumerate("xy"):
            ax.hist(err[:, axis], bins=edges, histtype="step", lw=1.5, label=f"{name}", density=True)
        ax.axhline(1.0 / (2 * half), color="grey", ls="--", lw=1, label="uniform")
        ax.set_xlabel("quantised - exact (input px)")
        ax.set_title(f"rounded to the {grid} grid" + (f" (stride {stride})" if grid == "heatmap" else ""))
        ax.legend(fontsize=8)
    axes[0].set_ylabel("density")
    fig.tight_layout()
    return fig


__all__ = [
    "bones_18",
    "draw_sample",
    "head_sizes",
    "joints_of",
    "quantisation_errors",
    "quantisation_histogram",
    "quantisation_summary",
    "show_rig",
    "show_samples",
    "split_table",
]


def head_extent(joints: np.ndarray, head: tuple[int, int] = HEAD_SEGMENT_18) -> np.ndarray:
    """``(N, 2)`` the head segment's extent per axis, ``|gt[neck] - gt[head end]|`` (input px): what the
    report's per-axis PCKh multiplies by alpha for each axis (``dark.metrics.pckh_per_axis``).

    >>> head_extent(np.array([[[0.0, 0.0]] * 2 + [[10.0, 5.0], [30.0, 4.0]]])).tolist()
    [[20.0, 1.0]]
    """
    j = np.asarray(joints, dtype=np.float64)
    return np.abs(j[:, head[0]] - j[:, head[1]])


def head_orientation_summary(extent: np.ndarray, alphas: Sequence[float] = (0.1, 0.5)) -> pd.DataFrame:
    """Per axis (x, y): the quartiles of the head segment's extent (input px) and the per-axis PCKh
    threshold each ``alpha`` implies at the median extent (``alpha * median``, input px), beside the
    Euclidean PCKh's threshold at the median segment length; the share of samples whose extent along the
    axis is below one input pixel.

    >>> t = head_orientation_summary(np.array([[20.0, 1.0], [22.0, 3.0], [24.0, 2.0]]))
    >>> [float(t.loc[a, c]) for a, c in [("y", "median (px)"), ("y", "threshold at alpha 0.5 (px)")]]
    [2.0, 1.0]
    """
    e = np.asarray(extent, dtype=np.float64)
    length = float(np.median(np.hypot(e[:, 0], e[:, 1])))
    rows = {}
    for i, axis in enumerate(("x", "y")):
        q1, med, q3 = np.percentile(e[:, i], [25, 50, 75])
        row = {"median (px)": float(med), "quartiles (px)": f"{q1:.2f} - {q3:.2f}"}
        row.update({f"threshold at alpha {a:g} (px)": float(a * med) for a in alphas})
        row["below 1 px (%)"] = float(100.0 * (e[:, i] < 1.0).mean())
        rows[axis] = row
    rows["Euclidean (segment length)"] = {
        "median (px)": length,
        "quartiles (px)": "",
        **{f"threshold at alpha {a:g} (px)": a * length for a in alphas},
        "below 1 px (%)": float(100.0 * (np.hypot(e[:, 0], e[:, 1]) < 1.0).mean()),
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("axis")


def head_orientation_histogram(extent: np.ndarray, bins: int = 40):
    """Histograms of ``|dx|`` and ``|dy|`` of the head segment (input px, shared bins). Returns the Figure."""
    import matplotlib.pyplot as plt

    e = np.asarray(extent, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    edges = np.linspace(0.0, float(e.max()) if e.size else 1.0, bins + 1)
    for i, (axis, colour) in enumerate((("|dx|", "tab:blue"), ("|dy|", "tab:orange"))):
        ax.hist(
            e[:, i], bins=edges, alpha=0.6, color=colour, label=f"{axis}, median {np.median(e[:, i]):.1f} px"
        )
    ax.set_xlabel("head segment extent along the axis (input px)")
    ax.set_ylabel("test samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
