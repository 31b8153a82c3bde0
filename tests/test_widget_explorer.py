"""DecoderExplorer's Python side: the static grid and the live frames hold dark.codecs' real outputs."""

import base64
import itertools
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from dark import codecs
from dark.book.widgets import DecoderExplorer
from dark.book.widgets import explorer as ex

pytestmark = pytest.mark.usefixtures("one_torch_thread")


AXES = {
    "dx": [0.0, 0.5],
    "dy": [-0.25, 0.25],
    "sigma": [1.5, 2.5],
    "noise": [0.0, 0.1],
    "seed": [0, 1],
    "kernel_size": [7, 11],
}
SIZE = (21, 23)


@pytest.fixture(scope="module")
def widget():
    return DecoderExplorer(axes=AXES, size=SIZE, dx=0.5, dy=0.25, sigma=1.5, noise=0.1, seed=1, kernel_size=7)


def unpack(b64: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


def decode_with_codecs(m: np.ndarray, sigma: float, kernel_size: int) -> dict:
    t = torch.as_tensor(m, dtype=torch.float64)[None, None]
    return {
        d: codecs.decode(t, d, sigma=sigma, kernel_size=kernel_size)[0][0, 0].numpy() for d in codecs.DECODERS
    }


def test_heatmap_is_the_gaussian_plus_a_seeded_noise_field():
    h, w = SIZE
    m0, c = ex.heatmap({"dx": 0.5, "dy": -0.25, "sigma": 2.0, "noise": 0.0}, SIZE)
    assert c == (w // 2 + 0.5, h // 2 - 0.25)
    yy, xx = np.mgrid[0:h, 0:w]
    np.testing.assert_allclose(m0, np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / 8.0), rtol=1e-12)
    m1, _ = ex.heatmap({"dx": 0.5, "dy": -0.25, "sigma": 2.0, "noise": 0.1, "seed": 3}, SIZE)
    m2, _ = ex.heatmap({"dx": 0.0, "dy": 0.0, "sigma": 1.0, "noise": 0.2, "seed": 3}, SIZE)
    g2, _ = ex.heatmap({"dx": 0.0, "dy": 0.0, "sigma": 1.0, "noise": 0.0}, SIZE)
    # one standard normal field per seed, scaled by the noise level
    np.testing.assert_allclose((m1 - m0) / 0.1, (m2 - g2) / 0.2, atol=1e-12)
    field = (m1 - m0) / 0.1
    assert abs(field.std() - 1) < 0.1
    m3, _ = ex.heatmap({"dx": 0.5, "dy": -0.25, "sigma": 2.0, "noise": 0.1, "seed": 4}, SIZE)
    assert not np.allclose(m1, m3)


def test_static_grid_holds_the_decoders_outputs(widget):
    h, w = SIZE
    f_count = int(np.prod([len(AXES[a]) for a in ex.MAP_AXES]))
    frames = unpack(widget.frames, np.uint8).reshape(f_count, h, w)
    ranges = unpack(widget.ranges, np.float64).reshape(f_count, 2)
    kdec = widget.kernel_decoders
    plain = [d for d in widget.decoders if d not in kdec]
    assert set(kdec) == {"dark", "dark_udp"} and set(widget.decoders) == set(codecs.PER_MAP_DECODERS)
    est = unpack(widget.estimates, np.float64).reshape(f_count, len(plain), 2)
    kest = unpack(widget.kernel_estimates, np.float64).reshape(
        f_count, len(AXES["kernel_size"]), len(kdec), 2
    )
    # the JS's index: C order over dx, dy, sigma, noise, seed; kernel size on its own axis
    for combo in itertools.product(*(range(len(AXES[a])) for a in ex.MAP_AXES)):
        f = 0
        for a, i in zip(ex.MAP_AXES, combo, strict=True):
            f = f * len(AXES[a]) + i
        params = {a: AXES[a][i] for a, i in zip(ex.MAP_AXES, combo, strict=True)}
        m, _ = ex.heatmap(params, SIZE)
        lo, hi = m.min(), m.max()
        np.testing.assert_allclose(ranges[f], [lo, hi])
        assert np.abs(frames[f] - 255 * (m - lo) / (hi - lo)).max() <= 0.5 + 1e-9
        if combo[0] == combo[1] == combo[4] == 1 or f == 0:  # a few frames: decode them ourselves
            for k, ks in enumerate(AXES["kernel_size"]):
                ref = decode_with_codecs(m, params["sigma"], ks)
                for j, d in enumerate(plain):
                    np.testing.assert_allclose(est[f, j], ref[d], atol=1e-9, err_msg=d)
                for j, d in enumerate(kdec):
                    np.testing.assert_allclose(kest[f, k, j], ref[d], atol=1e-9, err_msg=d)


def test_live_frame_follows_the_sliders_and_equals_codecs(widget):
    before = dict(widget.live["estimates"])
    assert widget.live["params"] == {
        "dx": 0.5,
        "dy": 0.25,
        "sigma": 1.5,
        "noise": 0.1,
        "seed": 1,
        "kernel_size": 7,
    }
    widget.dx, widget.sigma, widget.noise = 0.13, 2.2, 0.05  # off the static grid: live only
    widget.kernel_size = 17
    p = widget.live["params"]
    assert p == {"dx": 0.13, "dy": 0.25, "sigma": 2.2, "noise": 0.05, "seed": 1, "kernel_size": 17}
    m, c = ex.heatmap(p, SIZE)
    assert widget.live["centre"] == [SIZE[1] // 2 + 0.13, SIZE[0] // 2 + 0.25]
    ref = decode_with_codecs(m, 2.2, 17)
    exp = ex.expected(p, SIZE)
    for d in codecs.PER_MAP_DECODERS:
        np.testing.assert_allclose(widget.live["estimates"][d], ref[d], atol=1e-12)
        np.testing.assert_allclose(exp[d], ref[d], atol=1e-12)
    assert widget.live["estimates"]["mle"] != before["mle"]
    # the unbiased decoders see the new centre; argmax snaps to the nearest pixel
    assert math.dist(widget.live["estimates"]["mle"], c) < 0.2
    assert widget.live["estimates"]["argmax"] == [float(round(c[0])), float(round(c[1]))]
    u8 = unpack(widget.live["heatmap"], np.uint8)
    assert u8.size == SIZE[0] * SIZE[1] and u8.max() == 255 and u8.min() == 0


def test_expected_defaults_and_ignores_unknown_keys():
    a = ex.expected({"dx": 0.25, "zoom": 3}, decoders=["mle", "dark"])
    b = ex.expected({**ex.DEFAULT_PARAMS, "dx": 0.25}, decoders=["mle", "dark"])
    assert a == b and set(a) == {"mle", "dark"}
    # sliders deliver strings or floats for integer parameters
    assert ex.expected({"seed": "1.0", "kernel_size": 7.0}) == ex.expected({"seed": 1, "kernel_size": 7})


def test_default_grid_is_small_enough_for_the_static_book():
    h, w = ex.DEFAULT_SIZE
    frames = int(np.prod([len(ex.DEFAULT_AXES[a]) for a in ex.MAP_AXES]))
    n_k = len(ex.DEFAULT_AXES["kernel_size"])
    n_dec, n_kdec = len(codecs.PER_MAP_DECODERS), 2
    raw = frames * (h * w + 2 * 8 + (n_dec - n_kdec) * 16 + n_k * n_kdec * 16)
    assert raw * 4 / 3 < 4e6  # base64 text, a few MB at most
    for a, vals in ex.DEFAULT_AXES.items():  # sliders step uniformly through the grid
        assert np.allclose(np.diff(vals), vals[1] - vals[0]), a


def test_bad_arguments():
    with pytest.raises(ValueError, match="uniformly spaced"):
        DecoderExplorer(precompute=False, axes={**AXES, "noise": [0.0, 0.1, 0.3]})
    with pytest.raises(ValueError, match="unknown decoders"):
        DecoderExplorer(precompute=False, decoders=["argmax", "magic"])
    w = DecoderExplorer(precompute=False, decoders=["argmax", "mle"], size=SIZE)
    assert w.frames == "" and set(w.live["estimates"]) == {"argmax", "mle"}


def test_javascript_is_the_package_file_and_keeps_the_dom_contract():
    js = Path(ex.__file__).with_name("explorer.js")
    text = js.read_text()
    esm = DecoderExplorer._esm
    assert (esm.read_text() if isinstance(esm, Path) else str(esm)) == text
    for needle in ['"data-widget": "decoder-explorer"', "dark-widget", '"data-param": p', 'type: "range"',
                   '"data-decoder": d', '"data-x"', '"data-y"', "export default"]:  # fmt: skip
        assert needle in text, needle
    node = shutil.which("node")
    if node is None and not os.environ.get("CI"):  # the project's machines and CI have Node 20
        pytest.skip("node is not installed: cannot syntax-check the widget's JavaScript")
    result = subprocess.run([node, "--check", str(js)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# The JavaScript itself, in Chromium, with a stand-in for the widget model (the state the Python side
# syncs; no kernel, as in the static book). The book's own browser test drives the built page.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGE = """<!doctype html><html><body><div id="root"></div><script type="module">
import view from "./explorer.js";
const state = await (await fetch("./state.json")).json();
const handlers = {};
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
  save_changes: () => {},
  on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
  off: (ev, f) => { handlers[ev] = (handlers[ev] || []).filter((g) => g !== f); },
};
view.render({ model, el: document.getElementById("root") });
window.rendered = true;
</script></body></html>"""


@pytest.mark.slow
@pytest.mark.browser
def test_javascript_shows_the_python_numbers_in_chromium(widget, tmp_path):
    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):  # in CI a missing chromium fails
        pytest.skip("chromium is not installed (apt-get install chromium)")
    import functools
    import http.server
    import json
    import threading

    from playwright import sync_api  # pinned in the lock file: never skipped

    own = set(DecoderExplorer.class_trait_names(sync=True)) - set(ex.anywidget.AnyWidget.class_trait_names())
    state = {k: getattr(widget, k) for k in own}
    state.update(dx=0.0, dy=-0.25, sigma=2.5, noise=0.1, seed=0, kernel_size=11)  # on the grid, not live
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "index.html").write_text(PAGE)
    shutil.copy(Path(ex.__file__).with_name("explorer.js"), tmp_path / "explorer.js")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    errors = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("window.rendered === true")
            root = page.locator('.dark-widget[data-widget="decoder-explorer"]')

            def shown():
                return {
                    e.get_attribute("data-decoder"): (
                        float(e.get_attribute("data-x")),
                        float(e.get_attribute("data-y")),
                    )
                    for e in root.locator("[data-decoder]").all()
                }

            def params():
                return {
                    s.get_attribute("data-param"): float(s.input_value())
                    for s in root.locator("input[type=range]").all()
                }

            def check():
                exp = ex.expected(params(), SIZE)
                got = shown()
                assert set(got) == set(codecs.PER_MAP_DECODERS)
                for d, (x, y) in got.items():
                    assert abs(x - exp[d][0]) < 1e-9 and abs(y - exp[d][1]) < 1e-9, (d, (x, y), exp[d])
                return got

            assert set(params()) == set(ex.DEFAULT_PARAMS)
            first = check()
            for name, value in [("dx", 0.5), ("kernel_size", 7), ("seed", 1), ("noise", 0.0)]:
                page.evaluate(
                    "([n, v]) => { const s = document.querySelector(`input[data-param=${n}]`);"
                    " s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true})); }",
                    [name, value],
                )
                check()
            assert shown() != first
            # the canvas shows the heatmap (not blank)
            painted = page.evaluate(
                "() => { const c = document.querySelector('canvas'); const d = c.getContext('2d')"
                ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
                " for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i + 1] !== 255) n++;"
                " return n; }"
            )
            assert painted > 1000
            browser.close()
    finally:
        server.shutdown()
    assert not errors, errors
