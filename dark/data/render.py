"""A HUMAN4D-like depth renderer: capsule bodies seen by four portrait D415 depth sensors.

The body is a set of capsules (a segment with a radius) along the bones of the 33-joint skeleton.
A view is rendered by intersecting each pixel's ray with the capsules whose screen-space bounding
box contains the pixel (the (view, capsule, pixel) triples of a batch are solved as flat float32
arrays, a few views at a time, and reduced into a z-buffer with ``np.minimum.at``), then with the
room (floor, walls, ceiling). The sensor model adds depth noise growing with the square of the depth, drops
pixels along depth edges (silhouettes) and at random, and quantises to 0.1 mm like the D415's
16-bit depth.

Cameras: the real HUMAN4D rig recovered from ``running_annot.h5`` (:func:`dark.data.motions.rig_frame`):
four sensors about 2 m around the capture volume, about 1 m high, in portrait (image x axis
pointing down, so the body lies along u with the head toward small u), with the real depth
intrinsics divided by 4 for the 320x180 maps. Images are ``(180, 320)`` before the 10-row
top/bottom crop that gives the ``(160, 320)`` input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dark.data.motions import PARENTS_33, SENSORS
from dark.skeleton import HEAD_SEGMENT_18, HEATMAP_JOINTS, INPUT_SIZE

#: the depth map of the sensor, (height, width) in pixels, before the crop
SENSOR_SIZE: tuple[int, int] = (180, 320)
#: rows cut off the top (and the bottom) of the sensor map to get ``INPUT_SIZE``
CROP: int = (SENSOR_SIZE[0] - INPUT_SIZE[0]) // 2
#: depth unit of the stored maps, metres (0.1 mm, like the sensor); 0 = no measurement
DEPTH_UNIT: float = 1e-4
#: the farthest depth a 16-bit map can hold, metres
MAX_DEPTH: float = 65535 * DEPTH_UNIT

#: mean bone lengths (mm) of the real HUMAN4D S3 running skeletons, bone i ends at joint i + 1
#: (checked against ``data/human4d-samples`` by the tests)
BONES_S3_MM: tuple[int, ...] = (
    121, 97, 97, 97, 126, 51, 51, 97, 104, 188, 288, 230, 45, 73,
    104, 188, 288, 230, 45, 73, 72, 440, 420, 44, 171, 57, 72, 440, 420, 44, 171, 60,
)  # fmt: skip

# body capsules: (joint a, joint b, start fraction, end fraction along a->b, radius in metres)
_CAPSULES: tuple[tuple[int, int, float, float, float], ...] = (
    (0, 2, 0.0, 1.0, 0.115),  # pelvis -> belly
    (2, 4, 0.0, 1.0, 0.125),  # chest
    (4, 5, 0.0, 1.0, 0.07),  # upper chest -> neck base
    (21, 27, 0.0, 1.0, 0.085),  # hip bar
    (10, 16, 0.0, 1.0, 0.06),  # shoulder bar
    (5, 6, 0.0, 1.0, 0.05),  # neck
    (6, 8, 0.3, 0.5, 0.095),  # head: its top 2 cm above HeadEnd
    (10, 11, 0.0, 1.0, 0.045), (16, 17, 0.0, 1.0, 0.045),  # upper arms
    (11, 12, 0.0, 1.0, 0.037), (17, 18, 0.0, 1.0, 0.037),  # forearms
    (12, 14, 0.0, 1.0, 0.035), (18, 20, 0.0, 1.0, 0.035),  # hands
    (21, 22, 0.0, 1.0, 0.075), (27, 28, 0.0, 1.0, 0.075),  # thighs
    (22, 23, 0.0, 1.0, 0.055), (28, 29, 0.0, 1.0, 0.055),  # shins
    (23, 26, 0.0, 1.0, 0.045), (29, 32, 0.0, 1.0, 0.045),  # feet
)  # fmt: skip


@dataclass(frozen=True)
class Subject:
    """Body proportions of one rendered subject, relative to the real S3 skeleton.

    Attributes:
        name: ``"S1"`` .. ``"S4"``.
        height: scale of every bone.
        arms, legs, torso: extra scales of those bones' lengths.
        girth: scale of every capsule radius.
    """

    name: str
    height: float
    arms: float = 1.0
    legs: float = 1.0
    torso: float = 1.0
    girth: float = 1.0

    def bone_lengths(self) -> np.ndarray:
        """``(32,)`` bone lengths in metres (bone i ends at joint i + 1)."""
        lengths = np.asarray(BONES_S3_MM, dtype=np.float64) / 1000.0 * self.height
        joint = np.arange(1, 33)
        lengths[(joint >= 1) & (joint <= 8)] *= self.torso
        lengths[(joint >= 9) & (joint <= 20)] *= self.arms
        lengths[joint >= 21] *= self.legs
        return lengths


#: the four subjects; S4 (unseen in training, as in the report) has a different build
SUBJECTS: dict[str, Subject] = {
    "S1": Subject("S1", height=1.00),
    "S2": Subject("S2", height=0.93, legs=1.03, girth=0.88),
    "S3": Subject("S3", height=1.06, arms=1.03, torso=0.97, girth=1.08),
    "S4": Subject("S4", height=0.97, arms=1.06, legs=0.95, torso=1.04, girth=1.18),
}


def retarget(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Give a skeleton new bone lengths, keeping every bone's direction.

    The hips keep their position, then the whole clip moves vertically so that its lowest joints
    keep their height over the floor (the 2nd percentile over frames of each frame's lowest joint).

    Args:
        joints: ``(T, 33, 3)`` metres, world frame (z up).
        lengths: ``(32,)`` new bone lengths in metres (bone i ends at joint i + 1).

    Returns:
        ``(T, 33, 3)`` retargeted joints.
    """
    out = np.empty_like(joints)
    old = np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS_33[1:])], axis=-1)
    out[:, 0] = joints[:, 0]
    for j in range(1, 33):  # parents come before children in HUMAN4D's order
        p = PARENTS_33[j]
        direction = (joints[:, j] - joints[:, p]) / np.maximum(old[:, j - 1 : j], 1e-9)
        out[:, j] = out[:, p] + direction * lengths[j - 1]
    floor_old = np.percentile(joints[..., 2].min(axis=1), 2.0)
    out[..., 2] += floor_old - np.percentile(out[..., 2].min(axis=1), 2.0)
    return out


@dataclass(frozen=True)
class Rig:
    """Depth cameras at the sensor resolution (320x180).

    Attributes:
        names: sensor names.
        K: ``(V, 3, 3)`` intrinsics at 320x180 (the 1280x720 values divided by 4).
        R: ``(V, 3, 3)`` and t: ``(V, 3)``: camera -> world, ``X_w = R X_c + t``, metres.
    """

    names: tuple[str, ...]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., N, 3)`` world points -> ``(..., V, N, 3)`` in each camera's frame."""
        return np.einsum("vji,...vnj->...vni", self.R, points[..., None, :, :] - self.t[:, None, :])


def human4d_rig(samples_dir=None) -> Rig:
    """The HUMAN4D rig (real poses and depth intrinsics) at 320x180, from the bundled samples."""
    from dark.data.motions import SAMPLES_DIR, rig_frame

    rig = rig_frame(samples_dir or SAMPLES_DIR)
    k = rig["K"].copy()
    k[:, :2, :] /= 4.0
    k[:, 2, 2] = 1.0
    return Rig(SENSORS, k, rig["R"], rig["t"])


def project(points_cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pinhole projection ``u = fx X/Z + cx``, ``v = fy Y/Z + cy``.

    Args:
        points_cam: ``(..., N, 3)`` camera-frame points (Z > 0).
        k: ``(3, 3)`` or broadcastable ``(..., 3, 3)`` intrinsics.

    Returns:
        ``(..., N, 2)`` pixel coordinates (pixel index i has coordinate i) at the resolution of ``k``.
    """
    k = np.asarray(k)
    z = points_cam[..., 2]
    u = k[..., None, 0, 0] * points_cam[..., 0] / z + k[..., None, 0, 2]
    v = k[..., None, 1, 1] * points_cam[..., 1] / z + k[..., None, 1, 2]
    return np.stack([u, v], axis=-1)


def capsules(joints: np.ndarray, girth: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body's capsules for skeletons.

    Args:
        joints: ``(..., 33, 3)``.
        girth: scale of the radii.

    Returns:
        ``(a, b, r)``: endpoints ``(..., C, 3)`` and radii ``(C,)`` (metres).
    """
    ia, ib, s0, s1, r = (np.asarray(c) for c in zip(*_CAPSULES, strict=True))
    pa, pb = joints[..., ia, :], joints[..., ib, :]
    a = pa + s0[:, None] * (pb - pa)
    b = pa + s1[:, None] * (pb - pa)
    return a, b, r * girth


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


def render_views(joints_world: np.ndarray, rig: Rig, subject: Subject, room: np.ndarray,
                 noise: SensorNoise | None, rng: np.random.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    """Render frames of one subject from every camera of the rig, and their 18 joints.

    Args:
        joints_world: ``(T, 33, 3)`` the subject's skeletons (already retargeted), metres, world.
        rig: the cameras (V of them).
        subject: for the capsule radii.
        room: ``(V, 180, 320)`` the empty room's depth (:func:`render_room`).
        noise: the sensor model, or ``None`` for the clean depth (float, metres, in ``"clean"``).
        rng: random stream for the noise.

    Returns:
        dict of arrays over the ``T * V`` views (frame-major):
        ``"depth"`` ``(N, 160, 320)`` uint16 0.1 mm (cropped), ``"clean"`` ``(N, 160, 320)`` float32
        metres (cropped, noise-free), ``"joints"`` ``(N, 18, 2)`` float64 input px,
        ``"visible"`` ``(N, 18)`` bool, ``"head_size"`` ``(N,)`` float64 input px, ``"joint_depth"``
        ``(N, 18)`` metres, ``"view"`` ``(N,)`` camera index.
    """
    nt, nv = len(joints_world), len(rig.K)
    cam = rig.to_camera(joints_world).reshape(nt * nv, 33, 3)  # (T*V, 33, 3)
    view = np.tile(np.arange(nv), nt)
    a, b, r = capsules(cam, subject.girth)
    k = rig.K[view]
    body = render_capsules(a, b, r, k)
    clean = np.minimum(body, room[view])
    depth = add_sensor_noise(clean, noise, rng)[:, CROP:-CROP] if noise is not None else None
    clean = clean[:, CROP:-CROP]

    uv = project(cam, k)  # (N, 33, 2) at 320x180
    uv[..., 1] -= CROP
    j18 = uv[:, list(HEATMAP_JOINTS)]
    z18 = cam[:, list(HEATMAP_JOINTS), 2]
    h, w = INPUT_SIZE
    inside = (j18[..., 0] > -0.5) & (j18[..., 0] < w - 0.5) & (j18[..., 1] > -0.5) & (j18[..., 1] < h - 0.5)
    visible = inside & (z18 > 0) & unoccluded(cam[:, list(HEATMAP_JOINTS)], a, b, r)
    # and not behind the floor or a wall (a foot sunk into the floor)
    iu = np.clip(np.rint(j18[..., 0]).astype(np.int64), 0, w - 1)
    iv = np.clip(np.rint(j18[..., 1]).astype(np.int64), 0, h - 1)
    visible &= z18 < room[view[:, None], iv + CROP, iu]
    neck, head = HEAD_SEGMENT_18
    head_size = np.linalg.norm(j18[:, head] - j18[:, neck], axis=-1)
    return {
        "depth": depth,
        "clean": clean,
        "joints": j18,
        "visible": visible,
        "head_size": head_size,
        "joint_depth": z18,
        "view": view,
    }
