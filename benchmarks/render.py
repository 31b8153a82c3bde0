"""Speed of the depth renderer: rendered views per second against the 100 views/s target.

Renders frames of every motion clip from the four HUMAN4D sensors with the full sensor model,
as ``dark data`` does, and compares with a brute-force renderer measured in the same run (every
pixel against every capsule, the same ray-capsule formula, no screen-space bounding boxes). The
machine may be shared: the load average is printed, and the ratio to the brute force in the same
run is the number that survives the noise.

Run: ``.venv/bin/python benchmarks/render.py [--frames 64] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dark.data import motions, render

TARGET = 100.0  # views per second


def brute_force(a: np.ndarray, b: np.ndarray, r: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Every pixel against every capsule: ``(B, C, 3)`` endpoints -> ``(B, H, W)`` depth."""
    h, w = render.SENSOR_SIZE
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((len(a), h, w), dtype=np.float32)
    for i in range(len(a)):
        dx = ((u - k[i, 0, 2]) / k[i, 0, 0]).ravel()
        dy = ((v - k[i, 1, 2]) / k[i, 1, 1]).ravel()
        best = np.full(h * w, np.inf, dtype=np.float32)
        for c in range(a.shape[1]):
            pa = np.repeat(a[i, c, :, None].astype(np.float32), h * w, 1)
            ba = np.repeat((b[i, c] - a[i, c])[:, None].astype(np.float32), h * w, 1)
            best = np.minimum(best, render.ray_capsule(dx, dy, pa, ba, np.full(h * w, r[c], np.float32)))
        out[i] = best.reshape(h, w)
    return out


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64, help="multi-view frames per timing (x4 views)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rig = render.human4d_rig()
    room = render.render_room(rig)
    subject = render.SUBJECTS["S1"]
    clips = motions.all_motions()
    pool = np.concatenate([render.retarget(m.joints, subject.bone_lengths()) for m in clips])
    frames = pool[np.linspace(0, len(pool) - 1, args.frames).astype(int)]
    rng = np.random.default_rng(0)
    noise = render.SensorNoise()

    views = args.frames * len(rig.names)
    t_full = best_of(lambda: render_views_all(frames, rig, subject, room, noise, rng), args.repeats)
    cam = rig.to_camera(frames[:2]).reshape(-1, 33, 3)
    a, b, r = render.capsules(cam, subject.girth)
    k = rig.K[np.tile(np.arange(4), 2)]
    t_zbuf = best_of(lambda: render.render_capsules(a, b, r, k), args.repeats) / len(a)
    t_brute = best_of(lambda: brute_force(a, b, r, k), 1) / len(a)
    # the two renderers agree (sanity, not a timing)
    fast, slow = render.render_capsules(a, b, r, k), brute_force(a, b, r, k)
    with np.errstate(invalid="ignore"):  # inf - inf where both see no capsule: counted as agreeing below
        close = np.abs(fast - slow) < 1e-3
    agree = np.mean(np.where(np.isinf(fast) & np.isinf(slow), True, close))

    rate = views / t_full
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the machine may be shared)")
    print(f"{'measure':<46}{'value':>12}{'ratio':>10}")
    print(f"{'full render_views, views/s (target 100)':<46}{rate:>12.1f}{rate / TARGET:>10.2f}")
    print(f"{'capsule z-buffer only, views/s':<46}{1 / t_zbuf:>12.1f}{'':>10}")
    print(f"{'brute-force z-buffer (baseline), views/s':<46}{1 / t_brute:>12.1f}{'1.00':>10}")
    print(f"{'bounding-box z-buffer speed-up over brute force':<46}{'':>12}{t_brute / t_zbuf:>10.1f}")
    print(f"pixels where both z-buffers agree within 1 mm: {agree:.4f}")
    return 0


def render_views_all(frames, rig, subject, room, noise, rng) -> None:
    """Render in the dataset's batches (one shard's frames at a time)."""
    for start in range(0, len(frames), 128):
        render.render_views(frames[start : start + 128], rig, subject, room, noise, rng)


if __name__ == "__main__":
    raise SystemExit(main())
