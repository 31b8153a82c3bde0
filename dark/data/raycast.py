"""Depth along each pixel's ray: the capsule ray caster, the room, and whether a joint is seen.

A view is rendered by intersecting each pixel's ray with the capsules whose screen-space bounding
box contains the pixel (the (view, capsule, pixel) triples of a batch are solved as flat float32
arrays, a few views at a time, and reduced into a z-buffer with ``np.minimum.at``), then with the
room (floor, walls, ceiling).
"""

from __future__ import annotations

import numpy as np

from dark.data.cameras import SENSOR_SIZE, Rig


def ray_capsule(dx: np.ndarray, dy: np.ndarray, pa: np.ndarray, ba: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Depth of the first hit of rays ``s (dx, dy, 1)`` from the origin with capsules.

    The ray-capsule intersection of Inigo Quilez, written for the unnormalised direction
    ``d = (dx, dy, 1)``, so the ray parameter is the depth Z itself.

    Args:
        dx, dy: ``(N,)`` ray directions ``((u - cx) / fx, (v - cy) / fy)``.
        pa: ``(3, N)`` capsule start points; ba: ``(3, N)`` start -> end vectors.
        r: ``(N,)`` radii.

    Returns:
        ``(N,)`` depth Z of the first hit; ``inf`` for no hit (or a hit behind the camera).
    """
    baba = ba[0] * ba[0] + ba[1] * ba[1] + ba[2] * ba[2]
    bapa = ba[0] * pa[0] + ba[1] * pa[1] + ba[2] * pa[2]
    papa_r = pa[0] * pa[0] + pa[1] * pa[1] + pa[2] * pa[2] - r * r
    return _ray_capsule(dx, dy, *pa, *ba, baba, bapa, papa_r)


def _ray_capsule(dx, dy, pa0, pa1, pa2, ba0, ba1, ba2, baba, bapa, papa_r) -> np.ndarray:
    """:func:`ray_capsule` with the per-capsule terms precomputed (all ``(N,)``)."""
    dd = dx * dx + dy * dy + 1.0
    dpa = dx * pa0 + dy * pa1 + pa2
    bad = dx * ba0 + dy * ba1 + ba2
    # infinite cylinder: a s^2 + 2 b s + c = 0 with oa = -pa
    qa = baba * dd - bad * bad
    qb = bapa * bad - baba * dpa
    qc = baba * papa_r - bapa * bapa
    disc = qb * qb - qa * qc
    with np.errstate(invalid="ignore", divide="ignore"):
        s_cyl = (-qb - np.sqrt(disc)) / qa
        y = s_cyl * bad - bapa  # position along the axis, in units of |ba|^2
        hit_cyl = (y > 0) & (y < baba)
        # otherwise the end cap on the side where the ray meets the cylinder
        end = y >= baba
        dp = np.where(end, dpa + bad, dpa)
        pp = np.where(end, papa_r + 2 * bapa + baba, papa_r)  # |p|^2 - r^2 for the chosen end
        sdisc = dp * dp - dd * pp
        s_cap = (dp - np.sqrt(sdisc)) / dd
        s = np.where(hit_cyl, s_cyl, s_cap)  # NaN where the ray misses
    return np.where(s > 0, s, np.inf).astype(np.float32)  # NaN > 0 is False


def render_capsules(a: np.ndarray, b: np.ndarray, r: np.ndarray, k: np.ndarray,
                    size: tuple[int, int] = SENSOR_SIZE, chunk: int = 1 << 16) -> np.ndarray:  # fmt: skip
    """Z-buffer of capsules: the depth of the nearest capsule surface along each pixel's ray.

    Only the pixels inside each capsule's screen-space bounding box are solved, as flat
    (view, capsule, pixel) triples in float32, in chunks of about ``chunk`` triples (small arrays
    stay in the CPU cache), and reduced into the z-buffer with ``np.minimum.at``. Long because the
    chunk loop is the renderer's hot path: its index arithmetic stays in one body, where the benchmark
    (``benchmarks/render.py``) measures it.

    Args:
        a, b: ``(B, C, 3)`` capsule endpoints in camera frames (metres).
        r: ``(B, C)`` radii (or broadcastable).
        k: ``(B, 3, 3)`` intrinsics at ``size``.
        size: ``(H, W)``.
        chunk: triples per chunk.

    Returns:
        ``(B, H, W)`` float32 depth (Z, metres); ``inf`` where no capsule is hit.
    """
    h, w = size
    nb, nc = a.shape[:2]
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    r = np.broadcast_to(np.asarray(r, dtype=np.float32), (nb, nc))
    k = np.asarray(k, dtype=np.float32)
    fx, fy, cx, cy = k[:, 0, 0, None], k[:, 1, 1, None], k[:, 0, 2, None], k[:, 1, 2, None]

    # conservative screen bounds of each capsule: X/Z over the box around each end sphere
    def bounds(p: np.ndarray, f: np.ndarray, c: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        zn, zf = p[..., 2] - r, p[..., 2] + r
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = np.minimum((p[..., axis] - r) / zn, (p[..., axis] - r) / zf)
            hi = np.maximum((p[..., axis] + r) / zn, (p[..., axis] + r) / zf)
        return f * lo + c, f * hi + c

    ua0, ua1 = bounds(a, fx, cx, 0)
    ub0, ub1 = bounds(b, fx, cx, 0)
    va0, va1 = bounds(a, fy, cy, 1)
    vb0, vb1 = bounds(b, fy, cy, 1)
    in_front = ((np.minimum(a[..., 2], b[..., 2]) - r) > 0.05).ravel()
    lim = max(h, w) + 1.0

    def whole(x: np.ndarray, fn, lo: int, hi: int) -> np.ndarray:
        return np.clip(fn(np.nan_to_num(x, nan=-lim, posinf=lim, neginf=-lim)), lo, hi).astype(np.int32)

    u0 = whole(np.minimum(ua0, ub0), np.floor, 0, w).ravel()
    u1 = whole(np.maximum(ua1, ub1), np.ceil, -1, w - 1).ravel()
    v0 = whole(np.minimum(va0, vb0), np.floor, 0, h).ravel()
    v1 = whole(np.maximum(va1, vb1), np.ceil, -1, h - 1).ravel()
    bw = np.maximum(u1 - u0 + 1, 0) * in_front
    bh = np.maximum(v1 - v0 + 1, 0) * in_front
    count = (bw * bh).astype(np.int64)
    per_view = count.reshape(nb, nc).sum(1)
    # per capsule: start, axis and the ray-independent terms of the intersection, one row each
    pa, ba, r2 = a.reshape(-1, 3), (b - a).reshape(-1, 3), r.ravel()
    table = np.concatenate(
        [pa, ba, (ba * ba).sum(1, keepdims=True), (ba * pa).sum(1, keepdims=True),
         (pa * pa).sum(1, keepdims=True) - (r2 * r2)[:, None]], axis=1,
    ).T.copy()  # fmt: skip
    # ray directions per camera column / row: dx = (u - cx) / fx, dy = (v - cy) / fy
    dx_table = ((np.arange(w, dtype=np.float32) - cx) / fx).ravel()
    dy_table = ((np.arange(h, dtype=np.float32) - cy) / fy).ravel()

    zbuf = np.full(nb * h * w, np.inf, dtype=np.float32)
    first = 0
    while first < nb:  # chunks of whole views
        last, total = first + 1, per_view[first]
        while last < nb and total + per_view[last] <= chunk:
            total += per_view[last]
            last += 1
        ids = np.arange(first * nc, last * nc, dtype=np.int32)
        cnt = count[ids]
        owner = np.repeat(ids, cnt)
        local = np.arange(len(owner), dtype=np.int32) - np.repeat(
            (np.cumsum(cnt) - cnt).astype(np.int32), cnt
        )
        v_local, u_local = np.divmod(local, bw[owner])
        u = u0[owner] + u_local
        v = v0[owner] + v_local
        view = owner // nc
        depth = _ray_capsule(dx_table[view * w + u], dy_table[view * h + v], *table[:, owner])
        hit = depth < np.inf
        np.minimum.at(zbuf, (view * (h * w) + v * w + u)[hit], depth[hit])
        first = last
    return zbuf.reshape(nb, h, w)


#: the room: floor at z = 0, walls at |x|, |y| = ROOM_HALF, ceiling at ROOM_HEIGHT (metres)
ROOM_HALF: float = 3.0
ROOM_HEIGHT: float = 3.0


def render_room(rig: Rig, size: tuple[int, int] = SENSOR_SIZE) -> np.ndarray:
    """Depth of the empty room (floor, four walls, ceiling) seen by each camera.

    Returns:
        ``(V, H, W)`` float32 depth (Z, metres).
    """
    h, w = size
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((len(rig.K), h, w), dtype=np.float32)
    for i, (k, r, t) in enumerate(zip(rig.K, rig.R, rig.t, strict=True)):
        d_cam = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], -1)
        d = d_cam @ r.T  # world direction with unit camera Z: the ray parameter is the depth
        planes = [
            (2, 0.0),
            (2, ROOM_HEIGHT),
            (0, ROOM_HALF),
            (0, -ROOM_HALF),
            (1, ROOM_HALF),
            (1, -ROOM_HALF),
        ]
        best = np.full((h, w), np.inf)
        for axis, level in planes:
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (level - t[axis]) / d[..., axis]
            best = np.where((s > 0) & (s < best), s, best)
        out[i] = best
    return out


def unoccluded(
    points: np.ndarray, a: np.ndarray, b: np.ndarray, r: np.ndarray, margin: float = 0.05
) -> np.ndarray:
    """Whether the ray to each point first enters the body in a capsule that contains the point.

    A joint lies inside its own capsules; it is hidden when another capsule crosses its ray more
    than ``margin`` in front of where the ray enters its own capsules.

    Args:
        points: ``(N, J, 3)`` camera-frame points (Z > 0).
        a, b: ``(N, C, 3)`` capsule endpoints; r: ``(C,)`` or ``(N, C)`` radii.
        margin: metres.

    Returns:
        ``(N, J)`` bool.
    """
    n, nj = points.shape[:2]
    nc = a.shape[1]
    r = np.broadcast_to(r, (n, nc))
    # is the point inside the capsule? distance to the segment <= radius
    ab = b - a
    ap = points[:, :, None, :] - a[:, None, :, :]  # (N, J, C, 3)
    along = np.clip((ap * ab[:, None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12)[:, None], 0.0, 1.0)
    dist = np.linalg.norm(ap - along[..., None] * ab[:, None], axis=-1)
    own = dist <= r[:, None, :] + 1e-6
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = np.broadcast_to((points[..., 0] / points[..., 2])[..., None], (n, nj, nc)).ravel()
        dy = np.broadcast_to((points[..., 1] / points[..., 2])[..., None], (n, nj, nc)).ravel()

    def per_pair(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x[:, None], (n, nj, nc, 3)).reshape(-1, 3).T

    s = ray_capsule(dx, dy, per_pair(a), per_pair(ab), np.broadcast_to(r[:, None], (n, nj, nc)).ravel())
    s = s.reshape(n, nj, nc)
    s_own = np.where(own, s, np.inf).min(-1)
    s_other = np.where(own, np.inf, s).min(-1)
    return own.any(-1) & (s_other >= s_own - margin)
