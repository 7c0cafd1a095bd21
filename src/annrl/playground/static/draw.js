// Canvas drawing for the playground: surfaces, heat maps, fitted curves, loss charts, network edges.
// Values in [-1, 1] map to orange (-1), white (0) and blue (+1), the TensorFlow Playground's colours.

const ORANGE = [245, 147, 34];
const BLUE = [8, 119, 189];
const WHITE = [232, 234, 235];

export function colour(value) {
  const v = Math.max(-1, Math.min(1, value));
  const end = v < 0 ? ORANGE : BLUE;
  const t = Math.abs(v);
  return WHITE.map((w, k) => Math.round(w + (end[k] - w) * t));
}

// grid[iy][ix], y increasing with iy: drawn with y up, scaled to the whole canvas.
export function drawGrid(canvas, grid) {
  const ny = grid.length, nx = grid[0].length;
  const small = document.createElement("canvas");
  small.width = nx; small.height = ny;
  const ctx = small.getContext("2d");
  const image = ctx.createImageData(nx, ny);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const [r, g, b] = colour(grid[iy][ix]);
      const p = 4 * ((ny - 1 - iy) * nx + ix);
      image.data[p] = r; image.data[p + 1] = g; image.data[p + 2] = b; image.data[p + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  const out = canvas.getContext("2d");
  out.imageSmoothingEnabled = true;
  out.clearRect(0, 0, canvas.width, canvas.height);
  out.drawImage(small, 0, 0, canvas.width, canvas.height);
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

// A function of x alone: its curve (one row of values) over the box, y in [-1.2, 1.2].
export function drawCurve(canvas, box, values) {
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
  values.forEach((v, i) => {
    const [px, py] = toPixels(canvas, box, x0 + (x1 - x0) * i / (values.length - 1), v);
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
  ctx.stroke();
  ctx.lineWidth = 1;
}

// Lines of [train, test] losses; y from 0 to the largest value seen.
export function drawLosses(canvas, history) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (history.length < 2) return;
  const top = Math.max(1e-9, ...history.flatMap(([a, b]) => [a ?? 0, b ?? 0]));
  [["#999", 0], ["#000", 1]].forEach(([style, k]) => {
    ctx.strokeStyle = style;
    ctx.beginPath();
    history.forEach((row, i) => {
      const px = i / (history.length - 1) * canvas.width;
      const py = canvas.height - (row[k] ?? top) / top * (canvas.height - 2);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
}

// Seeds view: quantiles [min, q25, median, q75, max] of the test loss per update, log scale.
export function drawSpread(canvas, rows) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (rows.length < 2) return;
  const logs = rows.map((q) => q.map((v) => Math.log10(Math.max(v, 1e-4))));
  const lo = Math.min(...logs.flat()), hi = Math.max(...logs.flat(), lo + 1e-6);
  const px = (i) => i / (rows.length - 1) * canvas.width;
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

// Edges between node canvases: blue positive, orange negative, width by |weight|.
export function drawEdges(svg, container, columns, weights) {
  svg.innerHTML = "";
  const origin = container.getBoundingClientRect();
  const centre = (el, side) => {
    const r = el.getBoundingClientRect();
    return [(side > 0 ? r.right : r.left) - origin.left, r.top + r.height / 2 - origin.top];
  };
  weights.forEach((layer, k) => {
    const from = columns[k], to = columns[k + 1];
    if (!from || !to) return;
    layer.w.forEach((row, i) => row.forEach((w, j) => {
      if (!from[i] || !to[j]) return;
      const [x1, y1] = centre(from[i], 1);
      const [x2, y2] = centre(to[j], -1);
      const line = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const mid = (x1 + x2) / 2;
      line.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      const [r, g, b] = colour(Math.tanh(w));
      line.setAttribute("stroke", `rgb(${r},${g},${b})`);
      line.setAttribute("stroke-width", Math.min(6, 0.5 + 2 * Math.abs(w)).toFixed(2));
      line.setAttribute("fill", "none");
      line.setAttribute("data-weight", w);
      svg.appendChild(line);
    }));
  });
}
