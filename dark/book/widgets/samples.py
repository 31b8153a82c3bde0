"""``SampleBrowser``: test samples of a trained run, with every decoder's estimate of a chosen joint.

Pick a test sample and a joint (two sliders): the depth map with the ground truth and every
decoder's estimate (input px), and the predicted heatmap around that joint's peak. The estimates are
computed in Python with :func:`dark.codecs.decode` and the run's :class:`dark.codecs.Codec` (via
:func:`dark.experiment.decoding.decode_heatmaps`, the decoding path of evaluation itself); the
JavaScript (``samples.js``) only draws what the state holds, so the static book shows exactly what
the library computes.

State (the ``data`` trait, JSON, small: uint8 images as base64): for ``S`` samples

- ``depth``: ``(S, 160, 320)`` uint8 (0 = no depth, brighter = nearer), ``heatmap.crops``:
  ``(S, 18, 2r+1, 2r+1)`` uint8 (each crop scaled to its maximum) with ``heatmap.origin`` ``(S, 18, 2)``
  (heatmap px of the crop's top-left pixel) and ``heatmap.peak`` ``(S, 18)`` (each map's maximum; a
  map whose maximum is <= 0 is invalid and every decoder answers its centre);
- ``gt`` ``(S, 18, 2)`` and ``estimates`` ``(S, 18, D, 2)`` in input px (full precision), ``visible``;
- ``run_dir``, ``indices`` (test-set index of each sample), ``decoders``, ``sigma``,
  ``heatmap_stride``, ``scaling``, ``heatmap_size`` to recompute (:func:`expected`).

In a live kernel, changing ``sample`` or ``joint`` recomputes the ``estimates`` trait
(``{decoder: [x, y]}`` input px) from the float heatmaps with :mod:`dark.codecs`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from dark import codecs
from dark.data import open_split
from dark.design.skeleton import INPUT_SIZE, JOINTS_18
from dark.experiment.decoding import decode_heatmaps
from dark.experiment.runs import HEATMAPS, Run
from dark.files import atomic_write

__all__ = ["SampleBrowser", "build_state", "expected", "map_peaks", "pick_samples"]

_ESM = Path(__file__).with_name("samples.js")


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def depth_to_uint8(depth: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` metres -> uint8: 0 where there is no depth, 1..255 from far to near per map."""
    d = np.asarray(depth, dtype=np.float64)
    valid = d > 0
    out = np.zeros(d.shape, dtype=np.uint8)
    for i in np.ndindex(d.shape[:-2]):
        v = valid[i]
        if v.any():
            lo, hi = d[i][v].min(), d[i][v].max()
            scaled = 1 + np.round(254 * (hi - d[i]) / max(hi - lo, 1e-9))
            out[i] = np.where(v, np.clip(scaled, 1, 255), 0).astype(np.uint8)
    return out


def heatmap_crops(heatmaps: np.ndarray, radius: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Windows around each map's maximum: ``(S, K, h, w) -> (S, K, 2r+1, 2r+1)`` uint8, origin ``(S, K, 2)``.

    Each crop is scaled to 255 at its map's maximum (negative values clip to 0); outside the map is 0.
    ``origin`` is the heatmap (x, y) of the crop's top-left pixel.
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    s, k, _h, w = hm.shape
    flat = hm.reshape(s, k, -1)
    peak = np.nanargmax(np.where(np.isfinite(flat), flat, -np.inf), axis=-1)
    py, px = np.divmod(peak, w)
    side = 2 * radius + 1
    padded = np.pad(
        np.nan_to_num(hm, nan=0.0, posinf=0.0, neginf=0.0), ((0, 0), (0, 0), (radius,) * 2, (radius,) * 2)
    )
    ys = py[..., None] + np.arange(side)  # rows in padded coordinates
    xs = px[..., None] + np.arange(side)
    si, ki = np.ogrid[:s, :k]
    crops = padded[si[..., None, None], ki[..., None, None], ys[..., :, None], xs[..., None, :]]
    top = np.maximum(crops.reshape(s, k, -1).max(-1), 1e-12)[..., None, None]
    u8 = np.round(255 * np.clip(crops / top, 0, 1)).astype(np.uint8)
    origin = np.stack([px - radius, py - radius], axis=-1)
    return u8, origin


def pick_samples(
    preds: Mapping[str, np.ndarray],
    visible: np.ndarray,
    n: int = 24,
    seed: int = 0,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` test indices: half where DARK and CoM disagree most (largest visible-joint distance), half at
    random (seeded), sorted. ``preds``: decoder -> ``(N, K, 2)`` input px. ``candidates`` ``(N,)`` bool
    restricts the choice to those samples when at least ``n`` of them are candidates."""
    total = len(visible)
    n = min(n, total)
    pool = np.arange(total)
    if candidates is not None and np.count_nonzero(candidates) >= n:
        pool = np.flatnonzero(candidates)
    chosen: list[int] = []
    if "dark" in preds and "com" in preds:
        gap = np.where(visible, np.linalg.norm(preds["dark"] - preds["com"], axis=-1), 0).max(1)[pool]
        chosen = list(pool[np.argsort(-gap, kind="stable")[: n // 2]])
    rest = np.setdiff1d(pool, chosen)
    rng = np.random.default_rng(seed)
    chosen += list(rng.choice(rest, size=n - len(chosen), replace=False))
    return np.sort(np.array(chosen, dtype=np.int64))


def map_peaks(heatmaps: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Each map's maximum, ``(N, K, h, w) -> (N, K)`` float32, read in chunks (for memory-mapped files)."""
    return np.concatenate(
        [
            np.asarray(heatmaps[i : i + chunk], np.float32).max(axis=(-2, -1))
            for i in range(0, len(heatmaps), chunk)
        ]
    )


def build_state(
    heatmaps: np.ndarray,
    depth: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray,
    config: Mapping,
    *,
    indices: Sequence[int],
    names: Sequence[str] | None = None,
    run_dir: str | os.PathLike | None = None,
    decoders: Sequence[str] | None = None,
    radius: int = 8,
) -> dict:
    """The widget's precomputed state for ``S`` samples (see the module docstring).

    Args:
        heatmaps: ``(S, K, h, w)`` the run's predicted heatmaps of these samples (float16/32).
        depth: ``(S, 160, 320)`` metres; ``gt`` ``(S, K, 2)`` input px; ``visible`` ``(S, K)``.
        config: the run's ``sigma``, ``heatmap_stride``, ``scaling``.
        indices: test-set index of each sample (to find its heatmap again, :func:`expected`).
    """
    # a batch decoder (standard_report) depends on the other samples decoded with it: not one sample's
    decoders = list(codecs.PER_MAP_DECODERS) if decoders is None else list(decoders)
    hm = np.asarray(heatmaps)
    if hm.ndim != 4 or len(hm) != len(indices):
        raise ValueError(f"heatmaps must have shape (S, K, h, w) with S = len(indices), got {hm.shape}")
    est = decode_heatmaps(hm, _codec_config(config), decoders=decoders, device="cpu")
    crops, origin = heatmap_crops(hm, radius)
    _s, k, h, w = hm.shape
    return {
        "version": 1,
        "run_dir": None if run_dir is None else str(run_dir),
        "indices": [int(i) for i in indices],
        "names": [str(x) for x in (names if names is not None else indices)],
        "joints": list(JOINTS_18[:k]) if k <= len(JOINTS_18) else [str(j) for j in range(k)],
        "decoders": decoders,
        "sigma": float(config["sigma"]),
        "heatmap_stride": float(config["heatmap_stride"]),
        "scaling": config.get("scaling", "stride"),
        "heatmap_size": [h, w],
        "input_size": list(INPUT_SIZE),
        "depth": _b64(depth_to_uint8(depth)),
        "heatmap": {
            "radius": radius,
            "crops": _b64(crops),
            "origin": origin.tolist(),
            "peak": np.round(np.nan_to_num(hm.astype(np.float32).max(axis=(-2, -1))), 4).tolist(),  # (S, K)
        },
        "gt": np.asarray(gt, dtype=np.float64).tolist(),
        "visible": np.asarray(visible, dtype=bool).tolist(),
        "estimates": np.stack([est[d] for d in decoders], axis=2).tolist(),  # (S, K, D, 2)
    }


def _codec_config(config: Mapping) -> dict:
    """The keys of a run's config that its :class:`dark.codecs.Codec` needs to decode (the encoding
    does not change decoding; it is kept when the config has it)."""
    keys = ("encoding", "grid", "sigma", "heatmap_stride", "scaling", "heatmap_size")
    return {k: config[k] for k in keys if k in config}


def _decode_one(heatmap: np.ndarray, state: Mapping, joint: int) -> dict[str, tuple[float, float]]:
    cfg = _codec_config(state)
    est = decode_heatmaps(np.asarray(heatmap)[None], cfg, decoders=state["decoders"], device="cpu")
    return {d: (float(v[0, joint, 0]), float(v[0, joint, 1])) for d, v in est.items()}


def _load_state(source) -> dict:
    if isinstance(source, SampleBrowser):
        return dict(source.data)
    if isinstance(source, Mapping):
        return dict(source)
    p = Path(source)
    doc = json.loads(p.read_text())
    if p.suffix == ".ipynb":  # an executed notebook: find the widget's state in its metadata
        states = (
            doc.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
        )
        for m in states.get("state", {}).values():
            data = m.get("state", {}).get("data")
            if isinstance(data, dict) and data.get("heatmap") and data.get("estimates"):
                return data
        raise ValueError(f"{p}: no sample-browser widget state in the notebook metadata")
    return doc


def expected(
    source, sample: int, joint: int, root: str | os.PathLike = "."
) -> dict[str, tuple[float, float]]:
    """What the widget must display for slider values ``sample``, ``joint``: ``{decoder: (x, y)}`` input px.

    ``source``: a :class:`SampleBrowser`, its state dict, a JSON file of the state
    (:meth:`SampleBrowser.save`) or an executed notebook holding the widget. The heatmap of test
    sample ``state["indices"][sample]`` is read from ``RUN_DIR/heatmaps_test.npy`` and decoded afresh
    with :mod:`dark.codecs` (independently of the precomputed table the JavaScript shows). A relative
    ``RUN_DIR`` (the book's notebooks get paths relative to their work folder) is taken from ``root``.
    """
    state = _load_state(source)
    if not 0 <= sample < len(state["indices"]) or not 0 <= joint < len(state["joints"]):
        raise ValueError(
            f"sample must be in [0, {len(state['indices'])}) and joint in [0, {len(state['joints'])})"
        )
    if not state.get("run_dir"):
        raise ValueError("the state names no run_dir, so its heatmaps cannot be decoded again")
    hm = np.load(Path(root) / state["run_dir"] / HEATMAPS, mmap_mode="r")[state["indices"][sample]]
    return _decode_one(hm, state, joint)


class SampleBrowser(anywidget.AnyWidget):
    """Browse test samples of a run: depth map, ground truth, every decoder's estimate, the heatmap.

    Build it with :meth:`from_run` (a run evaluated by :mod:`dark.experiment.evaluate`) or from a state of
    :func:`build_state`. ``sample`` and ``joint`` are the sliders; ``estimates`` holds the current
    joint's ``{decoder: [x, y]}`` in input px, recomputed with :mod:`dark.codecs` when they change.
    """

    _esm = _ESM.read_text()
    data = traitlets.Dict().tag(sync=True)
    sample = traitlets.Int(0).tag(sync=True)
    joint = traitlets.Int(0).tag(sync=True)
    estimates = traitlets.Dict().tag(sync=True)

    def __init__(self, state: Mapping, heatmaps: np.ndarray | None = None, **kwargs) -> None:
        """``state`` from :func:`build_state`; ``heatmaps`` ``(S, K, h, w)`` the same samples' float maps
        for live recomputation (default: re-read from the state's run directory when needed)."""
        self._heatmaps = heatmaps
        super().__init__(data=dict(state), **kwargs)
        self._update()

    @traitlets.validate("sample")
    def _valid_sample(self, proposal):
        v = int(proposal["value"])
        if not 0 <= v < len(self.data.get("indices", [0])):
            raise traitlets.TraitError(f"sample must be in [0, {len(self.data['indices'])}), got {v}")
        return v

    @traitlets.validate("joint")
    def _valid_joint(self, proposal):
        v = int(proposal["value"])
        if not 0 <= v < len(self.data.get("joints", JOINTS_18)):
            raise traitlets.TraitError(f"joint must be in [0, {len(self.data['joints'])}), got {v}")
        return v

    @traitlets.observe("sample", "joint")
    def _on_change(self, _change) -> None:
        self._update()

    def _update(self) -> None:
        if self._heatmaps is not None:
            est = _decode_one(self._heatmaps[self.sample], self.data, self.joint)
        else:
            est = expected(self.data, self.sample, self.joint)
        self.estimates = {d: list(v) for d, v in est.items()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the state as JSON (for :func:`expected` and the browser test), atomically."""
        path = Path(path)
        atomic_write(path, json.dumps(self.data))
        return path

    @classmethod
    def from_run(
        cls,
        run_dir: str | os.PathLike,
        data: str | os.PathLike,
        *,
        samples: int = 24,
        seed: int = 0,
        radius: int = 8,
    ) -> SampleBrowser:
        """A browser over ``samples`` test samples of an evaluated run (half where DARK and CoM disagree
        most, half random with ``seed``); needs ``RUN_DIR/heatmaps_test.npy`` and ``predictions_test.npz``.

        It opens on the joint whose predicted maps are most often valid (maximum > 0) and, when enough
        samples have a valid map for that joint, shows only those (an undertrained model's maps can be
        all negative, and every decoder then answers the map centre)."""
        run_dir = Path(run_dir)
        run = Run(run_dir)
        config = run.config_json()
        heatmaps = np.load(run.file(HEATMAPS), mmap_mode="r")
        p = run.predictions()
        preds = {d: p["coords"][i] for i, d in enumerate(p["decoders"].tolist())}
        valid = map_peaks(heatmaps) > 0  # (N, K)
        joint = int(np.argmax(valid.sum(0)))
        idx = pick_samples(preds, p["visible"], samples, seed, candidates=valid[:, joint])
        test = open_split(data, split="test")
        hm = np.asarray(heatmaps[idx], dtype=np.float32)
        state = build_state(
            hm,
            np.stack([test[int(i)].depth for i in idx]),
            p["gt"][idx],
            p["visible"][idx],
            config,
            indices=idx,
            names=p["names"][idx].tolist(),
            run_dir=run_dir,
            radius=radius,
        )
        return cls(state, heatmaps=hm, joint=joint)
