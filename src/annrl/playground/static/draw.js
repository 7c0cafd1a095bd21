// Canvas drawing for the playground: surfaces, heat maps, fitted curves, loss charts, network edges.
// Values in [-1, 1] map to orange (-1), white (0) and blue (+1), the TensorFlow Playground's colours.
// The page redraws up to 60 times a second, so nothing here allocates per pixel or reads the layout
// per update: colours come from a table, each canvas keeps its small image, points are drawn once
// per data set into a layer, and edges are built once per network and only recoloured.

const ORANGE = [245, 147, 34];
const BLUE = [8, 119, 189];
const WHITE = [232, 234, 235];
const STEPS = 256;  // colour table resolution per half of [-1, 1]

export function colour(value) {
  const v = Math.max(-1, Math.min(1, value));
  const end = v < 0 ? ORANGE : BLUE;
  const t = Math.abs(v);
  return WHITE.map((w, k) => Math.round(w + (end[k] - w) * t));
}

// COLOURS[4 * i ...] is the RGBA of value i / STEPS - 1, i in [0, 2 * STEPS].
const COLOURS = new Uint8ClampedArray(4 * (2 * STEPS + 1));
for (let i = 0; i <= 2 * STEPS; i++) {
  COLOURS.set([...colour(i / STEPS - 1), 255], 4 * i);
}
const COLOURS32 = new Uint32Array(COLOURS.buffer);  // one RGBA pixel per entry: one read, compare, write

// A packed grid from the server ({shape: [..., ny, nx], f32: base64}) as {shape, values: Float32Array}.
// Uint8Array.fromBase64 (Chromium 140 on) decodes natively: a state's 140 kB of grids in a tenth of the
// time of the byte loop, which older browsers still use.
export function unpack(packed) {
  let bytes;
  if (Uint8Array.fromBase64) bytes = Uint8Array.fromBase64(packed.f32);
  else {
    const text = atob(packed.f32);
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  }
  return { shape: packed.shape, values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
}

// Grid k of an unpacked (..., ny, nx) stack, as {nx, ny, values, offset}.
export function slice(grid, k = 0) {
  const [ny, nx] = grid.shape.slice(-2);
  return { nx, ny, values: grid.values, offset: k * nx * ny };
}

const images = new WeakMap();  // canvas -> {small canvas, its ImageData}

function smallImage(canvas, nx, ny) {
  let entry = images.get(canvas);
  if (!entry || entry.nx !== nx || entry.ny !== ny) {
    const small = document.createElement("canvas");
    small.width = nx; small.height = ny;
    const ctx = small.getContext("2d");
    const image = ctx.createImageData(nx, ny);
    entry = { nx, ny, small, ctx, image, pixels: new Uint32Array(image.data.buffer) };
    images.set(canvas, entry);
  }
  return entry;
}

// Values grid[iy][ix] (y increasing with iy) drawn with y up, scaled to the whole canvas. A grid whose
// colours are those already on the canvas is not drawn again (returns false): nothing to repaint.
// `discrete`: only the sign of each value is shown (-1 or +1), as the TF Playground's "discretize output".
export function drawGrid(canvas, grid, force = false, discrete = false) {
  const { nx, ny, values, offset } = grid;
  const entry = smallImage(canvas, nx, ny);
  const pixels = entry.pixels;
  let changed = force || !entry.drawn;
  for (let iy = 0; iy < ny; iy++) {
    const row = offset + iy * nx, out = (ny - 1 - iy) * nx;
    for (let ix = 0; ix < nx; ix++) {
      const v = discrete ? (values[row + ix] > 0 ? 1 : -1) : values[row + ix];
      const c = COLOURS32[Math.round((v > 1 ? 1 : v < -1 ? -1 : v) * STEPS + STEPS)];
      if (pixels[out + ix] !== c) {
        pixels[out + ix] = c;
        changed = true;
      }
    }
  }
  if (!changed) return false;
  entry.drawn = true;
  entry.ctx.putImageData(entry.image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(entry.small, 0, 0, canvas.width, canvas.height);
  return true;
}

// Display coordinates (box) to canvas pixels.
export function toPixels(canvas, box, x, y) {
  const [x0, x1] = box[0];
  const [y0, y1] = box.length > 1 ? box[1] : [-1.2, 1.2];
  return [(x - x0) / (x1 - x0) * canvas.width, canvas.height - (y - y0) / (y1 - y0) * canvas.height];
}

export function fromPixels(canvas, box, px, py) {
  const [x0, x1] = box[0];
  const [y0, y1] = box[1];
  return [x0 + px / canvas.width * (x1 - x0), y0 + (canvas.height - py) / canvas.height * (y1 - y0)];
}

export function drawPoints(canvas, box, points, stroke, curve) {
  const ctx = canvas.getContext("2d");
  for (const [x, y, label] of points) {
    const [px, py] = curve ? toPixels(canvas, box, x, label) : toPixels(canvas, box, x, y);
    const [r, g, b] = colour(curve ? 0.9 : label);
    ctx.beginPath();
    ctx.arc(px, py, 3, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.stroke();
  }
}

// A transparent canvas the size of `canvas` with `layers` ([points, stroke, curve] each) drawn on it:
// drawn once, then copied over every new surface with one drawImage.
export function pointsLayer(canvas, box, layers) {
  const layer = document.createElement("canvas");
  layer.width = canvas.width; layer.height = canvas.height;
  for (const [points, stroke, curve] of layers) drawPoints(layer, box, points, stroke, curve);
  return layer;
}

// A function of x alone: its curve (one row of values) over the box, y in [-1.2, 1.2].
export function drawCurve(canvas, box, grid) {
  const { nx, values, offset } = grid;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#ddd";
  const [, zero] = toPixels(canvas, box, 0, 0);
  ctx.beginPath(); ctx.moveTo(0, zero); ctx.lineTo(canvas.width, zero); ctx.stroke();
  ctx.strokeStyle = "#183d4e";
  ctx.lineWidth = 2;
  ctx.beginPath();
  const [x0, x1] = box[0];
  for (let i = 0; i < nx; i++) {
    const [px, py] = toPixels(canvas, box, x0 + (x1 - x0) * i / (nx - 1), values[offset + i]);
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  }
  ctx.stroke();
  ctx.lineWidth = 1;
}

// Rows [epoch, train, test]; x by epoch, y from 0 to the largest value seen.
export function drawLosses(canvas, history) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (history.length < 2) return;
  let top = 1e-9;
  for (const [, a, b] of history) top = Math.max(top, a ?? 0, b ?? 0);
  const e0 = history[0][0], span = Math.max(1, history[history.length - 1][0] - e0);
  [["#999", 1], ["#000", 2]].forEach(([style, k]) => {
    ctx.strokeStyle = style;
    ctx.beginPath();
    history.forEach((row, i) => {
      const px = (row[0] - e0) / span * canvas.width;
      const py = canvas.height - (row[k] ?? top) / top * (canvas.height - 2);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
}

// Keeps a chart's rows few: past `limit` rows, every other old row goes (the curve keeps its shape,
// since rows are placed by epoch), so a run of hours costs what a run of minutes does.
export function thin(rows, limit = 1000) {
  return rows.length > limit ? rows.filter((_, i) => i % 2 === 0 || i === rows.length - 1) : rows;
}

// Seeds view: rows [epoch, min, q25, median, q75, max] of the test loss, log scale.
export function drawSpread(canvas, rows) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (rows.length < 2) return;
  const logs = rows.map((q) => q.slice(1).map((v) => Math.log10(Math.max(v, 1e-4))));
  let lo = Infinity, hi = -Infinity;
  for (const q of logs) for (const v of q) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  hi = Math.max(hi, lo + 1e-6);
  const e0 = rows[0][0], span = Math.max(1, rows[rows.length - 1][0] - e0);
  const px = (i) => (rows[i][0] - e0) / span * canvas.width;
  const py = (v) => canvas.height - (v - lo) / (hi - lo) * (canvas.height - 4) - 2;
  const band = (a, b, style) => {
    ctx.fillStyle = style;
    ctx.beginPath();
    logs.forEach((q, i) => (i === 0 ? ctx.moveTo(px(i), py(q[a])) : ctx.lineTo(px(i), py(q[a]))));
    for (let i = logs.length - 1; i >= 0; i--) ctx.lineTo(px(i), py(logs[i][b]));
    ctx.fill();
  };
  band(0, 4, "#cfe3f0");
  band(1, 3, "#7fb2d5");
  ctx.strokeStyle = "#183d4e";
  ctx.beginPath();
  logs.forEach((q, i) => (i === 0 ? ctx.moveTo(px(i), py(q[2])) : ctx.lineTo(px(i), py(q[2]))));
  ctx.stroke();
  ctx.fillStyle = "#333";
  ctx.fillText(`${(10 ** hi).toPrecision(2)}`, 2, 10);
  ctx.fillText(`${(10 ** lo).toPrecision(2)}`, 2, canvas.height - 4);
}

// Edges between node canvases, built once per network: paths[k][i][j] joins node i of column k
// to node j of column k + 1. Reads the layout once (every rectangle, then every path).
export function buildEdges(svg, container, columns) {
  svg.innerHTML = "";
  const origin = container.getBoundingClientRect();
  const rects = columns.map((nodes) => nodes.map((el) => el.getBoundingClientRect()));
  const paths = [];
  for (let k = 0; k + 1 < columns.length; k++) {
    paths.push(rects[k].map((from, i) => rects[k + 1].map((to, j) => {
      const x1 = from.right - origin.left, y1 = from.top + from.height / 2 - origin.top;
      const x2 = to.left - origin.left, y2 = to.top + to.height / 2 - origin.top;
      const mid = (x1 + x2) / 2;
      const line = document.createElementNS("http://www.w3.org/2000/svg", "path");
      line.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", "#ccc");
      Object.assign(line.dataset, { k, i, j });  // which weight it shows, for hover and editing
      svg.appendChild(line);
      return line;
    })));
  }
  return paths;
}

// Blue positive, orange negative, width by |weight| (to a tenth of a pixel). An edge that would look
// the same is left alone, so slowly changing weights cost no repaint.
export function colourEdges(paths, weights) {
  weights.forEach((layer, k) => {
    const rows = paths[k];
    if (!rows) return;
    layer.w.forEach((row, i) => row.forEach((w, j) => {
      const line = rows[i] && rows[i][j];
      if (!line) return;
      const [r, g, b] = colour(Math.tanh(w));
      const stroke = `rgb(${r},${g},${b})`, width = Math.min(6, 0.5 + 2 * Math.abs(w)).toFixed(1);
      if (line.dataset.stroke === stroke && line.dataset.width === width) return;
      line.dataset.stroke = stroke;
      line.dataset.width = width;
      line.setAttribute("stroke", stroke);
      line.setAttribute("stroke-width", width);
    }));
  });
}
