// SampleBrowser (dark.book.widgets.samples): draws the precomputed state; it never decodes anything.
// DOM contract: root .dark-widget[data-widget="sample-browser"], sliders input[type=range][data-param],
// one element per decoder with data-decoder, data-x, data-y (input px, full precision).

const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3",
];
const GT_COLOUR = "#ffffff";

function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function slider(name, max, value) {
  const label = el("label", { style: "margin-right:1em" }, name + " ");
  const input = el("input", { type: "range", min: "0", max: String(max), step: "1", "data-param": name });
  input.value = String(value);
  const out = el("span", { style: "font-family:monospace;margin-left:0.4em" });
  label.append(input, out);
  return { label, input, out };
}

function marker(ctx, x, y, colour, size, cross) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  if (cross) {
    ctx.moveTo(x - size, y - size); ctx.lineTo(x + size, y + size);
    ctx.moveTo(x - size, y + size); ctx.lineTo(x + size, y - size);
  } else {
    ctx.arc(x, y, size, 0, 2 * Math.PI);
  }
  ctx.stroke();
}

function render({ model, el: host }) {
  const st = model.get("data");
  if (!st || !st.indices || st.indices.length === 0) {
    host.textContent = "SampleBrowser: no samples in the state.";
    return;
  }
  const [H, W] = st.input_size;
  const S = st.indices.length;
  const K = st.joints.length;
  const depth = bytes(st.depth);
  const crops = bytes(st.heatmap.crops);
  const side = 2 * st.heatmap.radius + 1;
  const scale = 2;  // screen px per input px
  const cell = 12;  // screen px per heatmap px in the crop

  const root = el("div", { class: "dark-widget", "data-widget": "sample-browser" });
  root.style.fontSize = "0.9em";
  const sSample = slider("sample", S - 1, model.get("sample"));
  const sJoint = slider("joint", K - 1, model.get("joint"));
  const controls = el("div");
  controls.append(sSample.label, sJoint.label);

  const row = el("div", { style: "display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap;margin-top:0.5em" });
  const cDepth = el("canvas", { width: String(W * scale), height: String(H * scale) });
  const cHeat = el("canvas", { width: String(side * cell), height: String(side * cell) });
  const heatBox = el("div");
  const heatNote = el("div", { style: "font-size:0.85em" });
  heatBox.append(cHeat, heatNote);
  row.append(cDepth, heatBox);

  const table = el("table", { style: "margin-top:0.5em;border-collapse:collapse" });
  const head = el("tr");
  for (const h of ["", "decoder", "x (px)", "y (px)", "error (px)"]) head.append(el("th", { style: "padding:0 0.6em" }, h));
  table.append(head);
  const truthRow = el("tr", { "data-truth": "" });
  table.append(truthRow);
  const rows = st.decoders.map((name, d) => {
    const tr = el("tr", { "data-decoder": name });
    table.append(tr);
    return tr;
  });
  root.append(controls, row, table);
  host.append(root);

  let sample = Math.min(model.get("sample"), S - 1);
  let joint = Math.min(model.get("joint"), K - 1);

  function draw() {
    sSample.input.value = String(sample);
    sJoint.input.value = String(joint);
    sSample.out.textContent = `${sample} (${st.names[sample]})`;
    sJoint.out.textContent = `${joint} ${st.joints[joint]}`;
    // depth map, grey, with the ground truth and every decoder's estimate of the chosen joint
    const ctx = cDepth.getContext("2d");
    const img = ctx.createImageData(W, H);
    const off = sample * H * W;
    for (let i = 0; i < H * W; i++) {
      const v = depth[off + i];
      img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
    }
    const tmp = document.createElement("canvas");
    tmp.width = W; tmp.height = H;
    tmp.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, W * scale, H * scale);
    const gt = st.gt[sample][joint];
    const vis = st.visible[sample][joint];
    const est = st.estimates[sample][joint];
    // pixel index i has coordinate i (its centre): screen = (i + 0.5) * scale
    const sx = (x) => (x + 0.5) * scale;
    marker(ctx, sx(gt[0]), sx(gt[1]), "#000000", 7, false);
    marker(ctx, sx(gt[0]), sx(gt[1]), GT_COLOUR, 5, false);
    st.decoders.forEach((_, d) => marker(ctx, sx(est[d][0]), sx(est[d][1]), PALETTE[d % PALETTE.length], 4, true));

    // heatmap crop around the peak, with the same points in heatmap px
    const hc = cHeat.getContext("2d");
    const base = (sample * K + joint) * side * side;
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = crops[base + r * side + c];
        hc.fillStyle = `rgb(${v},${Math.round(v * 0.6)},${255 - v})`;
        hc.fillRect(c * cell, r * cell, cell, cell);
      }
    }
    const [ox, oy] = st.heatmap.origin[sample][joint];
    const [hh, ww] = st.heatmap_size;
    const toHm = (p) => st.scaling === "udp"
      ? [p[0] * (ww - 1) / (W - 1), p[1] * (hh - 1) / (H - 1)]
      : [p[0] / st.heatmap_stride, p[1] / st.heatmap_stride];
    const hx = (p) => { const q = toHm(p); return [(q[0] - ox + 0.5) * cell, (q[1] - oy + 0.5) * cell]; };
    const g = hx(gt);
    marker(hc, g[0], g[1], GT_COLOUR, 7, false);
    st.decoders.forEach((_, d) => { const q = hx(est[d]); marker(hc, q[0], q[1], PALETTE[d % PALETTE.length], 5, true); });

    const peak = st.heatmap.peak[sample][joint];
    heatNote.textContent = peak > 0
      ? `predicted heatmap around its peak (heatmap px); maximum ${peak.toFixed(3)}`
      : `predicted heatmap has no positive value (maximum ${peak.toFixed(3)}): every decoder returns the map centre`;

    // the numbers
    truthRow.replaceChildren(
      el("td", { style: `color:#888` }, "○"), el("td", {}, vis ? "ground truth" : "ground truth (not visible)"),
      el("td", {}, gt[0].toFixed(2)), el("td", {}, gt[1].toFixed(2)), el("td", {}, ""),
    );
    truthRow.setAttribute("data-x", String(gt[0]));
    truthRow.setAttribute("data-y", String(gt[1]));
    st.decoders.forEach((name, d) => {
      const [x, y] = est[d];
      const tr = rows[d];
      tr.setAttribute("data-x", String(x));
      tr.setAttribute("data-y", String(y));
      const err = Math.hypot(x - gt[0], y - gt[1]);
      tr.replaceChildren(
        el("td", { style: `color:${PALETTE[d % PALETTE.length]};font-weight:bold` }, "✕"), el("td", {}, name),
        el("td", {}, x.toFixed(2)), el("td", {}, y.toFixed(2)), el("td", {}, err.toFixed(2)),
      );
    });
  }

  function push() {
    try {
      model.set("sample", sample);
      model.set("joint", joint);
      model.save_changes();
    } catch (e) {
      // static page without a kernel: drawing from the state is all there is to do
    }
  }
  sSample.input.addEventListener("input", () => { sample = Number(sSample.input.value); draw(); push(); });
  sJoint.input.addEventListener("input", () => { joint = Number(sJoint.input.value); draw(); push(); });
  const sync = () => { sample = Math.min(model.get("sample"), S - 1); joint = Math.min(model.get("joint"), K - 1); draw(); };
  model.on("change:sample", sync);
  model.on("change:joint", sync);
  draw();
  return () => { model.off("change:sample", sync); model.off("change:joint", sync); };
}

export default { render };
