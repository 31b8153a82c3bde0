"""The depth renderer: exact ray-capsule geometry, the room, the sensor model, HUMAN4D-likeness."""

from __future__ import annotations

import numpy as np
import pytest

from dark.data import motions, render, synth
from dark.design.skeleton import HEATMAP_JOINTS


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``(..., 3)`` to the segment a-b."""
    ab = b - a
    s = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - a - s[..., None] * ab, axis=-1)


def test_ray_capsule_against_closed_forms():
    # a sphere (a == b) of radius 0.5 at depth 3 on the optical axis: depth 2.5 on the axis;
    # off-axis ray (dx, 0, 1): |s d - c|^2 = r^2 solved by hand
    c = np.array([[0.0], [0.0], [3.0]])
    dx = np.array([0.0, 0.1, 0.2, 0.3])
    depth = render.ray_capsule(dx, np.zeros(4), np.repeat(c, 4, 1), np.zeros((3, 4)), np.full(4, 0.5))
    dd = dx**2 + 1
    disc = 9.0 - dd * (9.0 - 0.25)
    expected = np.where(disc >= 0, (3.0 - np.sqrt(np.abs(disc))) / dd, np.inf)
    np.testing.assert_allclose(depth, expected, rtol=1e-5)
    assert np.isinf(depth[3])  # 0.3 rad off axis misses a 0.5 m sphere at 3 m
    # a horizontal capsule x in [-1, 1] at depth 3: the side of the cylinder is at 2.5 along dy = 0,
    # and the ray through x = 1.2 (beyond the end) meets the end cap sphere
    pa = np.array([[-1.0], [0.0], [3.0]])
    ba = np.array([[2.0], [0.0], [0.0]])
    d = render.ray_capsule(
        np.array([0.0, 0.2, 1.2 / 3]), np.zeros(3), np.repeat(pa, 3, 1), np.repeat(ba, 3, 1), np.full(3, 0.5)
    )
    # dx = 0.2: the ray (0.2 s, 0, s) meets the cylinder y^2 + (z-3)^2 = r^2 at s = 2.5
    np.testing.assert_allclose(d[:2], [2.5, 2.5], rtol=1e-6)
    cap = np.array([1.0, 0.0, 3.0])
    dvec = np.array([0.4, 0.0, 1.0])
    a2, b2, c2 = dvec @ dvec, -2 * dvec @ cap, cap @ cap - 0.25
    assert d[2] == pytest.approx((-b2 - np.sqrt(b2 * b2 - 4 * a2 * c2)) / (2 * a2), rel=1e-5)


def test_render_capsules_matches_ray_marching():
    """The z-buffer of random capsules against marching every pixel's ray in 0.5 mm steps."""
    rng = np.random.default_rng(3)
    h, w = 12, 20
    k = np.array([[20.0, 0, 9.5], [0, 20.0, 5.5], [0, 0, 1]])
    a = rng.uniform([-0.8, -0.4, 2.0], [0.8, 0.4, 3.0], (1, 4, 3))
    b = a + rng.uniform(-0.6, 0.6, (1, 4, 3))
    r = rng.uniform(0.05, 0.2, (1, 4))
    zbuf = render.render_capsules(a, b, r, k[None], size=(h, w))[0]
    v, u = np.mgrid[0:h, 0:w]
    dirs = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones((h, w))], -1).reshape(-1, 3)
    steps = np.arange(1.0, 4.5, 5e-4)
    first = np.full(len(dirs), np.inf)
    for c in range(4):
        pts = steps[None, :, None] * dirs[:, None, :]  # depth Z = s for d_z = 1
        inside = _segment_distance(pts, a[0, c], b[0, c]) <= r[0, c]
        hit = inside.any(1)
        first[hit] = np.minimum(first[hit], steps[inside.argmax(1)[hit]])
    first = first.reshape(h, w)
    both = np.isfinite(first) & np.isfinite(zbuf)
    assert both.sum() > 30
    np.testing.assert_allclose(zbuf[both], first[both], atol=1e-3)
    # hit / miss agree except where the ray grazes a silhouette
    assert (np.isfinite(first) != np.isfinite(zbuf)).sum() <= 2


def test_room_depth_lies_on_the_walls():
    rig = render.human4d_rig()
    room = render.render_room(rig)
    h, w = render.SENSOR_SIZE
    v, u = np.mgrid[0:h, 0:w]
    for i in range(4):
        k, r, t = rig.K[i], rig.R[i], rig.t[i]
        cam = (
            np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones((h, w))], -1)
            * room[i][..., None]
        )
        world = cam @ r.T + t
        x, y, z = np.moveaxis(world, -1, 0)
        half, top = render.ROOM_HALF, render.ROOM_HEIGHT
        on_plane = np.minimum.reduce([abs(z), abs(z - top), abs(abs(x) - half), abs(abs(y) - half)])
        assert on_plane.max() < 1e-3
        inside = np.abs(world[..., :2]).max(-1) <= render.ROOM_HALF + 1e-3
        assert inside.all() and (world[..., 2] > -1e-3).all()
        assert room[i].max() < render.MAX_DEPTH  # a 16-bit map holds the whole room


def test_sensor_noise_grows_with_depth_and_is_quantised():
    noise = render.SensorNoise()
    rng = np.random.default_rng(0)
    for z in (1.0, 2.0, 4.0):
        flat = np.full((4, 180, 320), z, dtype=np.float32)
        q = render.add_sensor_noise(flat, noise, rng)
        assert q.dtype == np.uint16
        valid = q > 0
        assert abs(1 - valid.mean() - noise.speckle) < 0.002  # no edges: only speckle is dropped
        metres = q[valid] * render.DEPTH_UNIT
        sigma = noise.sigma0 + noise.k * z * z
        assert metres.std() == pytest.approx(sigma, rel=0.05)
        assert metres.mean() == pytest.approx(z, abs=3 * sigma / np.sqrt(valid.sum()) + 1e-4)
    # a near square before a far wall: most pixels along its outline are dropped
    scene = np.full((1, 180, 320), 4.0, dtype=np.float32)
    scene[0, 60:120, 100:200] = 2.0
    q = render.add_sensor_noise(scene, noise, rng)[0]
    outline = np.zeros((180, 320), bool)
    outline[59:61, 100:200] = outline[119:121, 100:200] = True
    outline[60:120, 99:101] = outline[60:120, 199:201] = True
    assert 0.4 < (q[outline] == 0).mean() < 0.8
    assert (q[10:50, 10:90] == 0).mean() < 0.01


def test_unoccluded():
    # a joint inside capsule 0; capsule 1 crosses the joint's ray 1 m in front of it, or lies aside
    joint = np.array([[[0.0, 0.0, 3.0]]])
    own = ([0.0, -0.3, 3.0], [0.0, 0.3, 3.0])
    front = ([-0.3, 0.0, 2.0], [0.3, 0.0, 2.0])
    aside = ([-0.3, 1.0, 2.0], [0.3, 1.0, 2.0])
    for other, expected in ((front, False), (aside, True)):
        a = np.array([[own[0], other[0]]])
        b = np.array([[own[1], other[1]]])
        assert render.unoccluded(joint, a, b, np.array([0.1, 0.1]))[0, 0] == expected
    # a point in no capsule at all is not visible on the body
    assert not render.unoccluded(np.array([[[2.0, 0.0, 3.0]]]), a, b, np.array([0.1, 0.1]))[0, 0]


@pytest.fixture(scope="module")
def scene():
    """Frames of every clip and subject, placed as the dataset places them, rendered from the rig."""
    rig = render.human4d_rig()
    room = render.render_room(rig)
    clips = motions.all_motions()
    rng = np.random.default_rng(0)
    outs = []
    for si, subject in enumerate(render.SUBJECTS.values()):
        for mi, m in enumerate(clips):
            placed = synth.place(
                render.retarget(m.joints, subject.bone_lengths()), np.random.default_rng([1, si, mi])
            )
            frames = placed[:: max(1, len(m) // 2)][:2]
            out = render.render_views(frames, rig, subject, room, render.SensorNoise(), rng)
            out["room"] = room[out["view"]][:, render.CROP : -render.CROP]
            out["cam"] = rig.to_camera(frames).reshape(-1, 33, 3)
            out["clip"] = np.full(len(out["view"]), m.name)
            outs.append(out)
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}, rig


def test_joints_are_the_projection_with_quarter_intrinsics_and_crop(scene):
    out, rig = scene
    k = rig.K[out["view"]]  # 320x180 intrinsics: the real 1280x720 ones divided by 4
    np.testing.assert_allclose(k[:, 0, 0], render.human4d_rig().K[out["view"], 0, 0])
    cam = out["cam"][:, list(HEATMAP_JOINTS)]
    hom = np.einsum("nij,nkj->nki", k, cam)
    uv = hom[..., :2] / hom[..., 2:]
    uv[..., 1] -= 10
    np.testing.assert_allclose(out["joints"], uv, atol=1e-9)
    neck, head = out["joints"][:, 2], out["joints"][:, 3]
    np.testing.assert_allclose(out["head_size"], np.linalg.norm(head - neck, axis=-1))


def test_subject_between_1_5_and_4_m_body_along_u(scene):
    out, _ = scene
    hips = out["joint_depth"][:, 0]
    assert hips.min() > 1.5 and hips.max() < 4.0
    upright = np.isin(out["clip"], ["walk", "run", "running", "punch"])
    head_u, hips_u = out["joints"][upright, 3, 0], out["joints"][upright, 0, 0]
    assert (head_u < hips_u - 20).all()  # head toward small u
    along_u = np.abs(out["joints"][upright, 3] - out["joints"][upright, 0])
    assert (along_u[:, 0] > along_u[:, 1]).mean() > 0.9


def test_invalid_pixels_like_a_sensor(scene):
    out, _ = scene
    zero = out["depth"] == 0
    assert (zero.mean(axis=(1, 2)) > 0.005).all()  # every view has missing pixels
    # most of them at silhouettes: pixels of the body next to a much farther neighbour
    clean = out["clean"]
    edge = np.zeros_like(zero)
    step = np.abs(np.diff(clean, axis=2)) > 0.3
    edge[:, :, 1:] |= step
    edge[:, :, :-1] |= step
    assert zero[edge].mean() > 0.4 and zero[~edge].mean() < 0.05


def test_visible_joints_lie_on_the_silhouette(scene):
    out, rig = scene
    vis = out["visible"]
    assert 0.6 < vis.mean() < 0.98
    iu = np.rint(out["joints"][..., 0]).astype(int).clip(0, 319)
    iv = np.rint(out["joints"][..., 1]).astype(int).clip(0, 159)
    n = np.arange(len(vis))[:, None]
    wall = out["room"][n, iv, iu]
    clean = out["clean"][n, iv, iu]
    assert (clean[vis] < wall[vis] - 0.01).all()  # in front of the wall / floor behind it: on the body
    # joints well above the floor are well in front of the room
    cam = out["cam"][:, list(HEATMAP_JOINTS)]
    height = np.einsum("nj,nkj->nk", rig.R[out["view"], 2], cam) + rig.t[out["view"], 2][:, None]
    above = vis & (height > 0.3)
    assert (clean[above] < wall[above] - 0.2).all()
    # and the body there is the joint's own part: its surface a few cm in front of the joint
    gap = out["joint_depth"][vis] - clean[vis]
    assert gap.min() > -0.01 and np.percentile(gap, 99) < 0.3
    # in the noisy map the pixel is either missing or on the body too
    noisy = out["depth"][n, iv, iu] * render.DEPTH_UNIT
    assert ((noisy[above] == 0) | (noisy[above] < wall[above] - 0.2)).all()
    assert (noisy[vis] > 0).mean() > 0.9
