// The playground page: controls -> setup messages over one WebSocket; states -> drawings.
// States are drawn at the display's pace: one arriving while another waits for the next animation
// frame replaces it (both are acknowledged when it is drawn), so the page never falls behind the
// server, and `page.frames` counts the states actually drawn.
import {
  buildEdges, colourEdges, drawCurve, drawGrid, drawLosses, drawPoints, drawSpread, fromPixels, pointsLayer, slice,
  thin, unpack,
} from "./draw.js";
import { decode, encode } from "./urlstate.js";
import { startCars } from "./cars.js";

const $ = (id) => document.getElementById(id);
const SEEDS = 100;
const page = {
  socket: null, session: null, setup: null, limits: null, data: null, playing: false, view: "network",
  history: [], spread: [], drawn: [], stamps: [], lastState: null,
  pending: null, unacked: 0, frames: 0, edges: [], layers: new Map(),
};
window.playground = page;  // for tests and the curious: the current setup and data

function send(message) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN) page.socket.send(JSON.stringify(message));
}

function sendSetup(fields) {
  send({ type: "setup", setup: fields });
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

// The setup in effect did not change: the controls go back to it, so they never show a value not in use.
function refused(message) {
  showError(message.message);
  if (page.setup) syncControls();
  explainBusy(false);
}

function showNotice(lines) {
  $("notice-text").textContent = lines.join("\n");
  $("notice").hidden = lines.length === 0;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  page.socket = new WebSocket(`${scheme}://${location.host}/ws`);
  page.socket.onmessage = (event) => receive(JSON.parse(event.data));
  page.socket.onclose = () => showError("connection to the playground server closed; reload the page");
}

function receive(message) {
  if (message.type === "hello") return hello(message);
  if (message.type === "error") return refused(message);
  if (message.type === "data") return newData(message);
  if (message.type === "state") return queueState(message);
  if (message.type === "status") return setPlaying(message.playing);
  if (message.type === "explain") return showExplanation(message);
}

function hello(message) {
  page.session = message.session;
  page.limits = message.limits;
  fillSelects(message.limits);
  followLink();
}

// The setup of the URL's link (on load, or when a link is pasted into this tab): a field that cannot be
// used falls back to its default, and the server's notice says which.
function followLink() {
  const { setup, view } = decode(location.hash);
  page.view = view;
  send({ type: "setup", setup: { ...setup, seeds: view === "seeds" ? SEEDS : 1 }, link: true });
  selectTab(view, false);
}

function fillSelects(limits) {
  const options = (id, values, labels) => {
    $(id).innerHTML = values.map((v, k) => `<option value="${v}">${labels ? labels[k] : v}</option>`).join("");
  };
  options("lr", [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]);
  options("activation", limits.activations);
  options("optimizer", limits.optimizers);
  options("regularization", limits.regularizations);
  options("reg_rate", [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]);
}

function newData(message) {
  showError("");
  page.data = message;
  page.setup = message.setup;
  page.history = [];
  page.spread = [];
  page.layers.clear();
  history.replaceState(null, "", encode(page.setup, page.view));
  if (message.notices.length || !$("notice").hidden) showNotice(message.notices);
  $("explanation").textContent = "";  // an explanation is of one data set's network, never the next one's
  explainBusy(false);
  syncControls();
  buildNetwork();
  drawAxes(message);
  $("data-label").textContent = message.label;
}

// Tick labels at the ends and middle of the box (in a lab function's own units), the colour key, and
// for a Boolean function of more than 2 inputs where the other inputs are held.
function drawAxes(data) {
  const curve = data.view === "curve";
  const ticks = (range, domain) => [0, 0.5, 1].map((t) => {
    let v = range[0] + t * (range[1] - range[0]);
    if (domain) v = domain[0] + (v + 5) / 10 * (domain[1] - domain[0]);  // display -> the function's units
    return nice(v, domain ? domain[1] - domain[0] : range[1] - range[0]);
  });
  const y = curve ? valueTicks(data) : ticks(data.box[1], data.domain && data.domain[1]);
  $("x-ticks").innerHTML = ticks(data.box[0], data.domain && data.domain[0]).map((v) => `<span>${v}</span>`).join("");
  $("y-ticks").innerHTML = [...y].reverse().map((v) => `<span>${v}</span>`).join("");
  const names = data.inputs;
  $("x-ticks").title = `across: ${names[0]}`;
  $("y-ticks").title = curve ? "up: the value" : `up: ${names[1]}`;
  const range = data.value_range;
  const cls = data.task === "classification";
  $("legend-low").textContent = cls ? "-1 (orange)" : range ? `${+range[0].toPrecision(3)}` : "-1";
  $("legend-high").textContent = cls ? "+1 (blue)" : range ? `${+range[1].toPrecision(3)}` : "+1";
  $("legend").hidden = curve;
  const held = data.view === "boolean" ? names.slice(2) : [];
  $("slice-note").hidden = !(held.length || curve || names.length > 1);
  $("slice-note").textContent = held.length
    ? `across: ${names[0]}, up: ${names[1]}; ${held.join(", ")} held at 0 (false) in this picture`
    : curve ? `across: ${names[0]}; up: the value (the curve: the network, dots: the data)`
      : `across: ${names[0]}, up: ${names[1]}; colour: the network's output`;
}

function valueTicks(data) {
  const [low, high] = data.value_range || [-1, 1];
  // the curve's y runs over [-1.2, 1.2] in scaled units, -1 and 1 being the data's lowest and highest values
  return [-1.2, 0, 1.2].map((d) => nice(low + (d + 1) / 2 * (high - low), high - low));
}

// A tick value with the digits its axis's span calls for (no 0.0000651 for a zero)
function nice(value, span) {
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(span) || 1)));
  return +value.toFixed(Math.min(digits, 6));
}

function syncControls() {
  const s = page.setup;
  for (const id of ["lr", "activation", "optimizer", "regularization", "reg_rate"]) $(id).value = String(s[id]);
  for (const id of ["epochs_per_update", "seed", "ratio", "noise", "batch", "expression", "function"]) {
    $(id).value = s[id];
  }
  $("points").value = String(s.points);
  $("ratio-value").textContent = `${s.ratio}%`;
  $("noise-value").textContent = s.noise;
  $("batch-value").textContent = s.batch;
  document.querySelectorAll(".dataset").forEach((b) => b.classList.toggle("active", b.dataset.name === s.dataset));
  const custom = s.dataset === "custom";
  $("regenerate").disabled = custom;
  $("regenerate").title = custom ? "custom points (drawn or from a CSV) are kept as they are: nothing to regenerate"
    : `new data for this data set (data seed ${s.data_seed} -> the next); the network keeps its weights and trains on`;
  $("layer-count").textContent = `${s.layers.length} hidden layer${s.layers.length === 1 ? "" : "s"}`;
}

// Columns: features (toggles), then one column per hidden layer with +/- buttons, then edges.
function buildNetwork() {
  const { setup, data } = page;
  const columns = $("columns");
  columns.innerHTML = "";
  page.nodes = [];
  const inputs = data.view === "boolean" ? data.inputs : page.limits.features;
  const featureColumn = column("features");
  const featureNodes = [];
  for (const name of inputs) {
    const on = data.features.includes(name);
    if (!on && !data.feature_tiles[name]) continue;  // a feature this data lacks (y for a function of x)
    const node = nodeElement(name, "feature" + (on ? "" : " off"));
    node.dataset.name = name;
    if (data.view !== "boolean") node.onclick = () => toggleFeature(name);
    featureColumn.appendChild(node);
    if (data.feature_tiles[name]) drawGrid(node.querySelector("canvas"), slice(unpack(data.feature_tiles[name])));
    if (on) featureNodes[data.features.indexOf(name)] = node;  // weights' rows follow data.features
    node.title = on ? `${name}: an input (click to switch off)` : `${name}: switched off (click to use it)`;
  }
  columns.appendChild(featureColumn);
  page.nodes.push(featureNodes);
  setup.layers.forEach((units, k) => {
    const col = column(`<button class="add-neuron" data-layer="${k}">+</button>` +
      `<button class="remove-neuron" data-layer="${k}">&minus;</button><br>${units} neurons`);
    const nodes = [];
    for (let j = 0; j < units; j++) {
      const node = nodeElement("", "neuron");
      Object.assign(node.dataset, { layer: k, unit: j });  // its bias: weights[layer].b[unit]
      col.appendChild(node);
      nodes.push(node);
    }
    columns.appendChild(col);
    page.nodes.push(nodes);
  });
  const out = column("output");
  const outNode = nodeElement("", "neuron output");
  Object.assign(outNode.dataset, { layer: setup.layers.length, unit: 0 });
  out.appendChild(outNode);
  columns.appendChild(out);
  page.nodes.push([outNode]);
  page.edges = buildEdges($("edges"), $("network"), page.nodes);
  columns.querySelectorAll(".add-neuron").forEach((b) => (b.onclick = () => changeNeurons(+b.dataset.layer, 1)));
  columns.querySelectorAll(".remove-neuron").forEach((b) => (b.onclick = () => changeNeurons(+b.dataset.layer, -1)));
}

function column(head) {
  const el = document.createElement("div");
  el.className = "column";
  el.innerHTML = `<div class="column-head">${head}</div>`;
  return el;
}

function nodeElement(name, cls) {
  const el = document.createElement("div");
  el.className = "node " + cls;
  el.innerHTML = `<span class="name">${name}</span><canvas width="40" height="40"></canvas>`;
  return el;
}

function toggleFeature(name) {
  const features = page.setup.features.includes(name)
    ? page.setup.features.filter((f) => f !== name) : [...page.setup.features, name];
  sendSetup({ features });
}

function changeNeurons(layer, delta) {
  const layers = [...page.setup.layers];
  layers[layer] = Math.max(1, Math.min(page.limits.max_neurons, layers[layer] + delta));
  sendSetup({ layers });
}

function changeLayers(delta) {
  const layers = [...page.setup.layers];
  if (delta > 0 && layers.length < page.limits.max_layers) layers.push(2);
  if (delta < 0) layers.pop();
  sendSetup({ layers });
}

function queueState(state) {
  if (page.playing) page.unacked++;
  // a state trained before the latest setup arrived is dropped (acknowledged, never drawn)
  if (!page.data || state.build !== page.data.build) return acknowledge();
  if (page.pending === null) requestAnimationFrame(drawPending);
  page.pending = state;
}

function drawPending() {
  const state = page.pending;
  page.pending = null;
  if (state && page.data && state.build === page.data.build) newState(state);
  acknowledge();
}

function acknowledge() {
  for (; page.unacked > 0; page.unacked--) send({ type: "ack" });
}

function newState(state) {
  page.lastState = state;
  page.frames++;
  $("epoch").textContent = state.epoch;
  if (state.population === 1) drawNetworkState(state); else drawSeedsState(state);
  if (page.playing) page.stamps.push(performance.now());
}

// States drawn in the last second while playing: 0 when paused, and counted from the first second of play.
function showRate() {
  const now = performance.now();
  while (page.stamps.length && page.stamps[0] < now - 1000) page.stamps.shift();
  $("ups").textContent = page.playing ? page.stamps.length : 0;
}

function drawNetworkState(state) {
  const fmt = (v) => (v === null ? "diverged" : v.toFixed(3));
  $("test-loss").textContent = fmt(state.test_loss);
  $("train-loss").textContent = fmt(state.train_loss);
  page.history = thin(page.history);
  page.history.push([state.epoch, state.train_loss, state.test_loss]);
  drawLosses($("loss-chart"), page.history);
  const surface = slice(unpack(state.surface));
  drawOutput($("surface"), surface, $("show-test").checked);
  state.neurons.forEach((packed, k) => {
    const grids = unpack(packed);
    (page.nodes[k + 1] || []).forEach((node, j) => {
      if (j < grids.shape[0]) drawGrid(node.querySelector("canvas"), slice(grids, j));
    });
  });
  const outNode = page.nodes[page.nodes.length - 1][0];
  if (page.data.view === "curve") drawCurve(outNode.querySelector("canvas"), page.data.box, surface);
  else drawGrid(outNode.querySelector("canvas"), surface, false, $("discretize").checked);
  colourEdges(page.edges, state.weights);
}

// The points over a surface: drawn once per data set (and choice of shown points) into a layer, put
// over the surface whenever the surface's colours change or another layer is due.
const shownLayer = new WeakMap();  // canvas -> the points layer on it

function drawOutput(canvas, surface, withTest) {
  const layer = pointsLayerFor(canvas, withTest);
  const fresh = shownLayer.get(canvas) !== layer;
  if (page.data.view === "curve") drawCurve(canvas, page.data.box, surface);
  else if (!drawGrid(canvas, surface, fresh, $("discretize").checked)) return;  // the same picture as on screen
  canvas.getContext("2d").drawImage(layer, 0, 0);
  shownLayer.set(canvas, layer);
}

function pointsLayerFor(canvas, withTest) {
  const { data } = page;
  const curve = data.view === "curve";
  const key = `${canvas.id} ${withTest} ${page.drawn.length}`;
  if (!page.layers.has(key)) {
    const layers = [[data.train, "#fff", curve]];
    if (withTest) layers.push([data.test, "#000", curve]);
    if (!curve) layers.push([page.drawn, "#c00", false]);
    page.layers.set(key, pointsLayer(canvas, data.box, layers));
  }
  return page.layers.get(key);
}

function drawSeedsState(state) {
  $("seeds-solved").textContent = `${state.solved} of ${state.population} networks reached test loss < ` +
    `${state.goal} (epoch ${state.epoch}; ${state.diverged} diverged)`;
  page.spread = thin(page.spread);
  page.spread.push([state.epoch, ...state.test_quantiles]);
  drawSpread($("seeds-chart"), page.spread);
  const show = (id, surface, label, index) => {
    const untrained = state.epoch === 0;  // no network has had a chance to succeed or fail yet
    $(label).textContent = untrained ? "(not trained yet)" : index === null ? "(none yet)" : `#${index}`;
    const canvas = $(id);
    if (surface && !untrained) drawOutput(canvas, slice(unpack(surface)), false);
    else {
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
      shownLayer.delete(canvas);  // the next surface is drawn whatever it is
    }
  };
  show("seeds-solved-surface", state.solved_surface, "solved-index", state.solved_index);
  show("seeds-failed-surface", state.failed_surface, "failed-index", state.failed_index);
}

function setPlaying(playing) {
  page.playing = playing;
  if (!playing) page.stamps = [];
  showRate();
  $("play").innerHTML = playing ? "&#x275A;&#x275A; pause" : "&#x25B6; play";
}

function explainBusy(busy) {
  $("explain-busy").hidden = !busy;
  $("explain").disabled = busy;
}

function showExplanation(m) {
  if (!page.data || m.build !== page.data.build) return;  // of a data set no longer shown
  explainBusy(false);
  if (m.kind === "logic") {
    const neurons = m.neurons.map((n) => `  neuron ${n.unit}: ${n.formula} (margin ${n.margin})`).join("\n");
    $("explanation").textContent = `network computes: ${m.formula}\nmargin ${m.margin}, ` +
      `${m.matches_target ? "matches the expression" : `wrong on ${m.wrong_rows} of ${m.rows} rows`}\n` +
      `first hidden layer:\n${neurons}`;
  } else $("explanation").textContent = formulaText(m);
}

// A formula is shown as found only within its stated error, measured against the network on points
// it was not fitted to; otherwise the best one is shown as what it is.
function formulaText(m) {
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  const head = m.found ? `${m.what} in ${m.units}:\n${m.formula}\n`
    : `no simple formula found; best: ${m.formula}\n(${m.what}, in ${m.units})\n`;
  if (m.what.startsWith("decision")) {
    return head + `agrees with the network's class on ${pct(m.agreement)} of ${m.checked_on} new points ` +
      `(needed: ${pct(m.tolerance)}); accuracy on the test data ${pct(m.accuracy)} ` +
      `(the network: ${pct(m.network_accuracy)})`;
  }
  return head + `error against the network on ${m.checked_on} new points: RMS ${m.error} ` +
    `(${pct(m.relative_error)} of the output's spread; needed: at most ${pct(m.tolerance)}), max ${m.max_error}`;
}

function selectTab(view, resend = true) {
  const before = page.view;
  const retrains = resend && view !== "cars" && (before === "seeds") !== (view === "seeds");
  if (retrains && page.lastState && page.lastState.epoch > 0 &&
      !confirm(`${view === "seeds" ? "Seeds trains 100 new networks" : "Network trains a new network"} from ` +
        `the start; the networks trained so far (epoch ${page.lastState.epoch}) are dropped. Switch?`)) return;
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === view));
  $("network-view").hidden = view !== "network";
  $("seeds-view").hidden = view !== "seeds";
  $("cars-view").hidden = view !== "cars";
  $("controls").hidden = view === "cars";
  page.view = view;
  if (retrains) {
    sendSetup({ seeds: view === "seeds" ? SEEDS : 1 });
  }
  if (view === "cars") startCars();
}

function wireControls() {
  $("play").onclick = () => send({ type: page.playing ? "pause" : "play" });
  $("step").onclick = () => send({ type: "step" });
  $("reset").onclick = () => send({ type: "reset" });
  $("regenerate").onclick = () => send({ type: "regenerate" });
  $("add-layer").onclick = () => changeLayers(1);
  $("remove-layer").onclick = () => changeLayers(-1);
  for (const id of ["lr", "reg_rate"]) $(id).onchange = () => sendSetup({ [id]: Number($(id).value) });
  for (const id of ["activation", "optimizer", "regularization"]) $(id).onchange = () => sendSetup({ [id]: $(id).value });
  for (const id of ["epochs_per_update", "seed", "ratio", "noise", "batch", "points"]) {
    $(id).onchange = () => sendSetup({ [id]: Number($(id).value) });
  }
  for (const id of ["expression", "function"]) {
    $(id).onchange = () => sendSetup({ [id]: $(id).value, dataset: id === "expression" ? "boolean" : "function" });
  }
  document.querySelectorAll(".dataset").forEach((b) => (b.onclick = () => chooseDataset(b.dataset.name)));
  document.querySelectorAll(".tab").forEach((t) => (t.onclick = () => selectTab(t.dataset.tab)));
  $("show-test").onchange = () => {
    const state = page.lastState;
    if (state && state.population === 1) drawOutput($("surface"), slice(unpack(state.surface)), $("show-test").checked);
  };
  $("explain").onclick = () => {
    $("explanation").textContent = "";
    explainBusy(true);
    send({ type: "explain" });
  };
  $("discretize").onchange = $("show-test").onchange;
  $("notice-close").onclick = () => showNotice([]);
  $("surface").onclick = addPoint;
  $("clear-points").onclick = () => {  // the server forgets them too, and leaves custom data
    page.drawn = [];
    page.layers.clear();
    send({ type: "clear" });
  };
  wireHover();
  setInterval(showRate, 250);
  $("csv").onchange = async () => {
    const file = $("csv").files[0];
    if (file) send({ type: "csv", text: await file.text() });
  };
  document.querySelectorAll(".download").forEach((a) => {
    a.onclick = () => { a.href = `/api/session/${page.session}/export/${a.dataset.kind}`; };
  });
}

function chooseDataset(name) {
  if (name === "custom" && page.drawn.length) send({ type: "points", points: page.drawn });
  else sendSetup({ dataset: name });
}

// A click draws a point and trains on the points drawn: the data switches to custom (a first point alone
// waits for a second, since a data set needs one point to train on and one to test on).
function addPoint(event) {
  if (!page.data || page.data.view !== "surface" || page.data.box[0][1] !== 6) return;
  const canvas = event.target, rect = canvas.getBoundingClientRect();
  const scale = canvas.width / rect.width;  // the canvas may be shown smaller than its pixels
  const [x, y] = fromPixels(canvas, page.data.box, (event.clientX - rect.left) * scale,
    (event.clientY - rect.top) * scale);
  page.drawn.push([+x.toFixed(2), +y.toFixed(2), event.shiftKey ? -1 : 1]);
  page.layers.clear();
  if (page.drawn.length >= 2) send({ type: "points", points: page.drawn });
  else drawPoints(canvas, page.data.box, page.drawn, "#000", false);
}

// Hover on an edge: its weight; on a neuron: its bias. Click an edge to type a new weight.
function wireHover() {
  const tip = $("hover"), net = $("network");
  const describe = (target) => {
    const state = page.lastState;
    if (!state || state.population !== 1) return null;
    if (target.dataset.k !== undefined) {
      const [k, i, j] = ["k", "i", "j"].map((a) => +target.dataset[a]);
      const w = state.weights[k] && state.weights[k].w[i] && state.weights[k].w[i][j];
      return w === undefined ? null : `weight ${w} (click to change)`;
    }
    const node = target.closest(".neuron");
    if (!node) return null;
    const [k, j] = [+node.dataset.layer, +node.dataset.unit];
    const b = state.weights[k] && state.weights[k].b[j];
    return b === undefined ? null : `bias ${b}`;
  };
  net.addEventListener("mousemove", (event) => {
    const text = describe(event.target);
    tip.hidden = !text;
    if (!text) return;
    const origin = net.getBoundingClientRect();
    tip.textContent = text;
    tip.style.left = `${event.clientX - origin.left + 12}px`;
    tip.style.top = `${event.clientY - origin.top + 12}px`;
  });
  net.addEventListener("mouseleave", () => { tip.hidden = true; });
  $("edges").addEventListener("click", (event) => {
    const d = event.target.dataset;
    if (d.k === undefined || !page.lastState) return;
    const old = page.lastState.weights[+d.k].w[+d.i][+d.j];
    const text = prompt("new weight", String(old));
    if (text !== null && Number.isFinite(Number(text)) && text.trim() !== "") {
      send({ type: "weight", layer: +d.k, row: +d.i, column: +d.j, value: Number(text) });
    }
  });
}

// a new window size moves the nodes: the edges follow (their colours come with the next state)
window.addEventListener("resize", () => {
  if (!page.data) return;
  page.edges = buildEdges($("edges"), $("network"), page.nodes);
  if (page.lastState && page.lastState.population === 1) colourEdges(page.edges, page.lastState.weights);
});

// the page's own URL updates use replaceState, which fires no hashchange: this is a link typed or pasted
window.addEventListener("hashchange", () => { if (page.session) followLink(); });

wireControls();
connect();
