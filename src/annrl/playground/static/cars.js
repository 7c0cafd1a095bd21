// The cars tab: a genetic algorithm evolving drivers live, or a saved run driven again (a replay),
// drawn from the server's frames.
const $ = (id) => document.getElementById(id);
const cars = { socket: null, track: null, view: null, frames: 0, runs: null, replayEnd: null };
window.cars = cars;  // for tests and the curious

export function startCars() {
  if (cars.socket) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  cars.socket = new WebSocket(`${scheme}://${location.host}/ws/cars`);
  cars.socket.onmessage = (event) => receive(JSON.parse(event.data));
  cars.socket.onopen = () => { start(); send({ type: "runs" }); };
  $("cars-start").onclick = start;
  $("cars-stop").onclick = () => {
    send({ type: "stop" });
    $("cars-status").textContent = `stopped${cars.lastGeneration ? " after " + cars.lastGeneration : ""}`;
  };
  $("replay-start").onclick = replay;
}

function send(message) {
  if (cars.socket.readyState === WebSocket.OPEN) cars.socket.send(JSON.stringify(message));
}

// The live GA's line: the last generation's result, and how the one on the road is doing, frame by frame
// (a replay's frames carry no generation: its own line says what it replays).
function progress(m) {
  if (m.generation === undefined) return;
  const driving = m.parked.filter((p) => !p).length;
  $("cars-status").textContent = `${cars.lastGeneration ? cars.lastGeneration + " | " : ""}` +
    `generation ${m.generation + 1} on the road: step ${m.step}, the leading car at ` +
    `${(100 * m.best_progress).toFixed(1)}% of the course, ${driving} of ${m.parked.length} still driving`;
}

function start() {
  cars.lastGeneration = "";
  $("cars-status").textContent = "starting a new evolution";
  send({ type: "start", track: $("track").value, population: Number($("cars-population").value) });
}

function replay() {
  const message = { type: "replay", run: $("replay-run").value, speed: Number($("replay-speed").value) };
  if ($("replay-seed").value !== "") message.seed = Number($("replay-seed").value);
  cars.replayEnd = null;
  send(message);
}

function listRuns(runs) {
  cars.runs = runs;
  $("replay-run").innerHTML = runs.map((r) => `<option value="${escape(r.id)}">${escape(r.label)}</option>`).join("");
  $("replay-start").disabled = runs.length === 0;
  if (!runs.length) $("replay-status").textContent = "no saved car runs under the runs folder";
}

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function replayEnded(m) {
  cars.replayEnd = m;
  const lines = m.cars.map((c) => `car ${c.car}: ${(100 * c.progress).toFixed(1)}% of the course, ${c.laps} laps, ` +
    `${c.crashed ? "crashed" : "no crash"}, return ${c.return.toFixed(1)}`).join("; ");
  const match = m.matches_record === null ? "" : m.matches_record ? " (the same as recorded)" : " (NOT as recorded)";
  $("replay-status").textContent = `${m.replay}, seed ${m.seed}, ${m.cars[0].steps} steps: ${lines}${match}`;
}

function receive(m) {
  if (m.type === "track") {
    cars.track = m; cars.view = fit(m.outer);
    if (m.replay) $("replay-status").textContent = `replaying ${m.replay} (seed ${m.seed})`;
  } else if (m.type === "frame") { draw(m); cars.frames++; progress(m); send({ type: "ack" }); }
  else if (m.type === "runs") listRuns(m.runs);
  else if (m.type === "replay_end") replayEnded(m);
  else if (m.type === "generation") {
    cars.lastGeneration = `generation ${m.generation}: best car drove ${(100 * m.best).toFixed(1)}% ` +
      `of the course (mean ${(100 * m.mean).toFixed(1)}%)`;
  } else if (m.type === "error") {
    const replaying = m.field && /^(runs|replay)/.test(m.field);
    $(replaying ? "replay-status" : "cars-status").textContent = m.message;
  }
}

// World metres -> canvas pixels, keeping the aspect ratio.
function fit(outer) {
  const canvas = $("cars-canvas");
  const xs = outer.map((p) => p[0]), ys = outer.map((p) => p[1]);
  const x0 = Math.min(...xs) - 5, y0 = Math.min(...ys) - 5;
  const scale = Math.min(canvas.width / (Math.max(...xs) + 5 - x0), canvas.height / (Math.max(...ys) + 5 - y0));
  cars.size = Math.max(16, 4.5 * scale);  // a car ~4.5 m long, never under 16 px: visible on any track
  return (x, y) => [(x - x0) * scale, canvas.height - (y - y0) * scale];
}

function polygon(ctx, points, fill) {
  ctx.beginPath();
  points.forEach(([x, y], i) => {
    const [px, py] = cars.view(x, y);
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = "#eee";
  ctx.stroke();
}

function draw(frame) {
  if (!cars.track) return;
  const ctx = $("cars-canvas").getContext("2d");
  ctx.fillStyle = "#568c4c";
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  polygon(ctx, cars.track.outer, "#46464a");
  polygon(ctx, cars.track.inner, "#568c4c");
  ctx.strokeStyle = "#ffd23c";
  frame.rays.forEach((ends, k) => {
    const [x, y] = frame.cars[frame.leaders[k]];
    const [px, py] = cars.view(x, y);
    for (const [ex, ey] of ends) {
      const [qx, qy] = cars.view(ex, ey);
      ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(qx, qy); ctx.stroke();
    }
  });
  frame.cars.forEach(([x, y, heading], k) => {
    const [px, py] = cars.view(x, y);
    ctx.save();
    ctx.translate(px, py);
    ctx.rotate(-heading);
    ctx.fillStyle = frame.parked[k] ? "#e63c32" : "#3c8cf0";
    const long = cars.size, wide = cars.size / 2;
    ctx.fillRect(-long / 2, -wide / 2, long, wide);
    ctx.fillStyle = "#fff";  // the windscreen shows which way the car faces
    ctx.fillRect(long / 6, -wide / 3, long / 6, (2 * wide) / 3);
    ctx.restore();
  });
}
