// DecoderExplorer view (anywidget ESM). It only draws: every number it shows was computed in Python
// by dark.codecs, either for exactly the current sliders (the `live` trait, live kernel) or for the
// nearest point of the precomputed grid (`frames`, `estimates`, `kernel_estimates`, static book).
// DOM contract (browser test): root .dark-widget[data-widget="decoder-explorer"], one
// <input type="range" data-param=NAME> per slider, one [data-decoder][data-x][data-y] per decoder
// (heatmap px, full precision).

const PARAMS = ["dx", "dy", "sigma", "noise", "seed", "kernel_size"];
const MAP_AXES = ["dx", "dy", "sigma", "noise", "seed"];
const INTEGER = new Set(["seed", "kernel_size"]);
const LABELS = {
  dx: "x offset (px)",
  dy: "y offset (px)",
  sigma: "sigma (px)",
  noise: "noise std",
  seed: "noise seed",
  kernel_size: "DARK kernel",
};

function bytesOf(b64) {
  const bin = atob(b64 || "");
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function makeCache() {
  const memo = new Map();
  return (key, b64, Type) => {
    const hit = memo.get(key);
    if (hit && hit.b64 === b64) return hit.value;
    const bytes = bytesOf(b64);
    const value = Type === Uint8Array ? bytes : new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
    memo.set(key, { b64, value });
    return value;
  };
}

function nearest(values, v) {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (Math.abs(values[i] - v) < Math.abs(values[best] - v)) best = i;
  }
  return best;
}

function fmt(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : "-";
}

function el_(tag, attrs = {}, text = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

// The frame to show for the current slider values: {heatmap Uint8Array, range, centre, estimates}.
function currentFrame(model, cache) {
  const params = Object.fromEntries(PARAMS.map((p) => [p, model.get(p)]));
  const live = model.get("live") || {};
  const lp = live.params;
  if (lp && PARAMS.every((p) => Math.abs(lp[p] - params[p]) < 1e-9)) {
    const est = {};
    for (const [d, xy] of Object.entries(live.estimates)) est[d] = xy;
    return {
      source: "live",
      heatmap: cache("live", live.heatmap, Uint8Array),
      range: live.range,
      centre: live.centre,
      estimates: est,
    };
  }
  const framesB64 = model.get("frames");
  if (!framesB64) return null; // no static grid: wait for the kernel
  const axes = model.get("axes");
  const [h, w] = model.get("size");
  let f = 0;
  const snapped = {};
  for (const a of MAP_AXES) {
    const i = nearest(axes[a], params[a]);
    f = f * axes[a].length + i;
    snapped[a] = axes[a][i];
  }
  const k = nearest(axes.kernel_size, params.kernel_size);
  const frames = cache("frames", framesB64, Uint8Array);
  const ranges = cache("ranges", model.get("ranges"), Float64Array);
  const plainEst = cache("estimates", model.get("estimates"), Float64Array);
  const kernEst = cache("kernel_estimates", model.get("kernel_estimates"), Float64Array);
  const kdec = model.get("kernel_decoders");
  const plain = model.get("decoders").filter((d) => !kdec.includes(d));
  const est = {};
  plain.forEach((d, j) => {
    const o = (f * plain.length + j) * 2;
    est[d] = [plainEst[o], plainEst[o + 1]];
  });
  const nk = axes.kernel_size.length;
  kdec.forEach((d, j) => {
    const o = ((f * nk + k) * kdec.length + j) * 2;
    est[d] = [kernEst[o], kernEst[o + 1]];
  });
  return {
    source: "grid",
    heatmap: frames.subarray(f * h * w, (f + 1) * h * w),
    range: [ranges[2 * f], ranges[2 * f + 1]],
    centre: [Math.floor(w / 2) + snapped.dx, Math.floor(h / 2) + snapped.dy],
    estimates: est,
  };
}

function render({ model, el }) {
  const cache = makeCache();
  const root = el_("div", { class: "dark-widget dark-explorer", "data-widget": "decoder-explorer" });
  root.style.cssText = "display:flex;flex-wrap:wrap;gap:16px;font:13px sans-serif;align-items:flex-start";

  // sliders
  const controls = el_("div");
  controls.style.cssText = "display:grid;grid-template-columns:auto 160px 48px;gap:4px 8px;align-items:center";
  const inputs = {};
  const shown = {};
  const axes = model.get("axes");
  for (const p of PARAMS) {
    const vals = axes[p] || [model.get(p)];
    const step = vals.length > 1 ? vals[1] - vals[0] : 1;
    const input = el_("input", {
      type: "range",
      "data-param": p,
      min: String(vals[0]),
      max: String(vals[vals.length - 1]),
      step: String(step),
      value: String(model.get(p)),
    });
    const out = el_("span", {}, String(model.get(p)));
    input.addEventListener("input", () => {
      const v = INTEGER.has(p) ? Math.round(Number(input.value)) : Number(input.value);
      out.textContent = String(v);
      model.set(p, v);
      try {
        model.save_changes(); // no kernel in the static book: nothing to sync with
      } catch (err) {
        console.debug("decoder explorer: no kernel to sync with", err);
      }
      draw();
    });
    controls.append(el_("label", {}, LABELS[p]), input, out);
    inputs[p] = input;
    shown[p] = out;
  }

  // zoom buttons and the canvas
  const view = el_("div");
  const bar = el_("div");
  const zoomOut = el_("button", { type: "button", title: "zoom out" }, "\u2212");
  const zoomIn = el_("button", { type: "button", title: "zoom in" }, "+");
  const status = el_("span", { class: "dark-explorer-source" });
  status.style.cssText = "margin-left:8px;color:#666";
  bar.append(zoomOut, zoomIn, status);
  const canvas = el_("canvas", { width: "400", height: "400" });
  canvas.style.cssText = "border:1px solid #ccc;display:block;margin-top:4px;max-width:100%";
  view.append(bar, canvas);
  const zooms = [1, 1.5, 2, 3, 4, 6];
  let zoom = 2; // 2x: the peak and its surroundings
  zoomIn.addEventListener("click", () => {
    zoom = Math.min(zoom + 1, zooms.length - 1);
    draw();
  });
  zoomOut.addEventListener("click", () => {
    zoom = Math.max(zoom - 1, 0);
    draw();
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    zoom = Math.max(0, Math.min(zooms.length - 1, zoom + (e.deltaY < 0 ? 1 : -1)));
    draw();
  });

  // table of estimates
  const table = el_("table");
  table.style.cssText = "border-collapse:collapse;font-variant-numeric:tabular-nums";
  const head = el_("tr");
  for (const t of ["", "decoder", "x", "y", "error (px)"]) head.append(el_("th", { style: "padding:1px 6px" }, t));
  table.append(head);
  const colors = model.get("colors");
  const truthRow = el_("tr", { class: "dark-explorer-truth" });
  const rows = {};
  const cellsOf = (tr) => {
    const c = [0, 1, 2, 3, 4].map(() => el_("td", { style: "padding:1px 6px;text-align:right" }));
    tr.append(...c);
    return c;
  };
  const truthCells = cellsOf(truthRow);
  truthCells[0].textContent = "+";
  truthCells[1].textContent = "truth";
  table.append(truthRow);
  for (const d of model.get("decoders")) {
    const tr = el_("tr", { "data-decoder": d });
    const c = cellsOf(tr);
    c[0].innerHTML = `<span style="display:inline-block;width:10px;height:10px;border-radius:50%;background:${colors[d]}"></span>`;
    c[1].textContent = d;
    c[1].style.textAlign = "left";
    table.append(tr);
    rows[d] = { tr, c };
  }

  root.append(controls, view, table);
  el.append(root);

  const lut = bytesOf(model.get("lut"));
  const off = document.createElement("canvas");

  function draw() {
    const frame = currentFrame(model, cache);
    const [h, w] = model.get("size");
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!frame) {
      status.textContent = "computing...";
      return;
    }
    status.textContent = frame.source === "live" ? "live" : "precomputed grid";
    // heatmap through the colour table, drawn pixelated
    off.width = w;
    off.height = h;
    const octx = off.getContext("2d");
    const img = octx.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const v = frame.heatmap[i];
      img.data[4 * i] = lut[3 * v];
      img.data[4 * i + 1] = lut[3 * v + 1];
      img.data[4 * i + 2] = lut[3 * v + 2];
      img.data[4 * i + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    // view: `cells` heatmap px around the middle pixel, each pixel centred on its integer coordinate
    const z = zooms[zoom];
    const cells = Math.max(w, h) / z;
    const scale = canvas.width / cells;
    const cx = Math.floor(w / 2);
    const cy = Math.floor(h / 2);
    const x0 = cx + 0.5 - cells / 2; // heatmap x at the canvas's left edge (pixel edges at i - 0.5)
    const y0 = cy + 0.5 - cells / 2;
    const toCanvas = (x, y) => [(x + 0.5 - x0) * scale, (y + 0.5 - y0) * scale];
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, -x0 * scale, -y0 * scale, w * scale, h * scale);
    // truth
    const [tx, ty] = toCanvas(frame.centre[0], frame.centre[1]);
    for (const [style, width] of [["#000", 4], ["#fff", 2]]) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(tx - 12, ty);
      ctx.lineTo(tx + 12, ty);
      ctx.moveTo(tx, ty - 12);
      ctx.lineTo(tx, ty + 12);
      ctx.stroke();
    }
    // estimates and the table
    truthCells[2].textContent = fmt(frame.centre[0], 3);
    truthCells[3].textContent = fmt(frame.centre[1], 3);
    for (const d of model.get("decoders")) {
      const xy = frame.estimates[d];
      const { tr, c } = rows[d];
      if (!xy) continue;
      const [ex, ey] = xy;
      tr.setAttribute("data-x", String(ex));
      tr.setAttribute("data-y", String(ey));
      c[2].textContent = fmt(ex, 3);
      c[3].textContent = fmt(ey, 3);
      c[4].textContent = fmt(Math.hypot(ex - frame.centre[0], ey - frame.centre[1]), 3);
      const [px, py] = toCanvas(ex, ey);
      ctx.strokeStyle = colors[d];
      ctx.fillStyle = colors[d];
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(px, py, 1.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.fillStyle = "#fff";
    ctx.fillText(`range ${fmt(frame.range[0], 2)} .. ${fmt(frame.range[1], 2)}`, 6, canvas.height - 6);
  }

  // Python (or another view) changed a slider or the live frame
  const onParam = () => {
    for (const p of PARAMS) {
      inputs[p].value = String(model.get(p));
      shown[p].textContent = String(model.get(p));
    }
    draw();
  };
  const events = [...PARAMS.map((p) => `change:${p}`), "change:live"];
  for (const ev of events) model.on(ev, onParam);
  draw();
  return () => {
    for (const ev of events) model.off(ev, onParam);
  };
}

export default { render };
