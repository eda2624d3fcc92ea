// The labelling page: a grid of leased galaxies, labelled by click or key, scores refreshed
// whenever the server's learner moves to a new version.
"use strict";

const PAGE = 24;
const POLL_MS = 1000;
const view = { state: null, cards: [], focus: 0, version: -1 };
const $ = (id) => document.getElementById(id);

function labeller() {
  return $("labeller").value.trim() || "anonymous";
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    headers: { "Content-Type": "application/json" }, ...options,
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function post(path, payload) {
  return api(path, { method: "POST", body: JSON.stringify(payload) });
}

function say(text) {
  $("message").textContent = text;
}

function scoreText(galaxy) {
  return galaxy.predicted === null ? "not scored yet"
    : `${galaxy.predicted} ${(100 * galaxy.score).toFixed(0)}%`;
}

function visibleCards() {
  const only = $("filter").value;
  const order = $("sort").value;
  let cards = view.cards.filter((g) => !only || g.predicted === only);
  if (order) {
    const sign = order === "asc" ? 1 : -1;
    cards = [...cards].sort((a, b) => sign * ((a.score ?? -1) - (b.score ?? -1)));
  }
  return cards;
}

function render() {
  const grid = $("grid");
  grid.replaceChildren();
  const cards = visibleCards();
  view.focus = Math.max(0, Math.min(view.focus, cards.length - 1));
  cards.forEach((galaxy, index) => {
    const card = document.createElement("div");
    card.className = "card" + (index === view.focus ? " focused" : "");
    card.dataset.row = galaxy.row;
    card.dataset.testid = "card";
    const image = document.createElement("img");
    image.src = `/api/galaxies/${galaxy.row}/image.png?zoom=2`;
    image.alt = galaxy.name;
    image.onclick = () => { view.focus = index; enlarge(galaxy); };
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = galaxy.name;
    const score = document.createElement("div");
    score.className = "score";
    score.textContent = scoreText(galaxy);
    card.append(image, name, score);
    view.state.classes.forEach((cls, k) => {
      const button = document.createElement("button");
      button.textContent = `${(k + 1) % 10} ${cls}`;
      button.onclick = () => label(galaxy, cls);
      card.append(button);
    });
    grid.append(card);
  });
}

async function topUp() {
  const strategy = $("strategy").value;
  const page = await api(`/api/next?labeller=${encodeURIComponent(labeller())}` +
    `&count=${PAGE}&strategy=${strategy}`);
  const known = new Set(view.cards.map((g) => g.row));
  view.cards.push(...page.filter((g) => !known.has(g.row)));
  if (!view.cards.length) say("Nothing to show: every galaxy here is labelled or leased.");
  render();
}

async function label(galaxy, cls) {
  try {
    await post("/api/labels", { row: galaxy.row, label: cls, labeller: labeller() });
    view.cards = view.cards.filter((g) => g.row !== galaxy.row);
    say(`${galaxy.name}: ${cls}`);
    render();
    if (view.cards.length < PAGE / 2) await topUp();
    await refreshState();
  } catch (error) {
    say(`not labelled: ${error.message}`);
  }
}

async function undo() {
  try {
    const undone = await post("/api/undo", { labeller: labeller() });
    const galaxy = await api(`/api/galaxies/${undone.row}`);
    view.cards = [galaxy, ...view.cards.filter((g) => g.row !== undone.row)];
    view.focus = 0;
    say(`undone: ${galaxy.name} (${undone.label})`);
    render();
    await refreshState();
  } catch (error) {
    say(`nothing undone: ${error.message}`);
  }
}

function enlarge(galaxy) {
  $("large-image").src = `/api/galaxies/${galaxy.row}/image.png?zoom=8`;
  $("large-caption").textContent = `${galaxy.name} · ${scoreText(galaxy)}`;
  $("large").hidden = false;
}

async function rescore() {
  // Cards labelled while the scores were in flight stay gone: merge, do not replace.
  const fresh = await Promise.all(view.cards.map((g) => api(`/api/galaxies/${g.row}`)));
  const byRow = new Map(fresh.map((g) => [g.row, g]));
  view.cards = view.cards.map((g) => byRow.get(g.row) || g);
  render();
}

function drawPlot(history) {
  const svg = $("plot");
  const [w, h, left, bottom] = [320, 220, 34, 24];
  const points = history.filter((m) => m.accuracy !== null);
  const most = Math.max(10, ...history.map((m) => m.labels));
  const x = (n) => left + (w - left - 8) * n / most;
  const y = (a) => 8 + (h - bottom - 8) * (1 - a);
  const line = (key) => history.filter((m) => m[key] !== null)
    .map((m) => `${x(m.labels).toFixed(1)},${y(m[key]).toFixed(1)}`).join(" ");
  svg.innerHTML = `
    <line x1="${left}" y1="${y(0)}" x2="${w - 8}" y2="${y(0)}" stroke="#555"/>
    <line x1="${left}" y1="${y(0)}" x2="${left}" y2="${y(1)}" stroke="#555"/>
    <text x="4" y="${y(1) + 4}">1.0</text><text x="4" y="${y(0.5) + 4}">0.5</text>
    <text x="4" y="${y(0) + 4}">0.0</text>
    <text x="${w - 8}" y="${h - 6}" text-anchor="end">${most} labels</text>
    <polyline fill="none" stroke="#8cf" stroke-width="2" points="${line("accuracy")}"/>
    <polyline fill="none" stroke="#fc8" stroke-dasharray="3 3" points="${line("agreement")}"/>`;
  svg.dataset.points = String(points.length);
}

async function refreshState() {
  const state = await api("/api/state");
  view.state = state;
  const counts = Object.entries(state.counts).map(([k, v]) => `${k} ${v}`).join(" · ");
  $("counts").textContent = `${state.labels} labelled of ${state.size} (${counts})`;
  const accuracy = state.accuracy === null ? "—" : state.accuracy.toFixed(2);
  $("model").textContent = `model v${state.version}` +
    (state.training ? " (training…)" : "") + ` · est. accuracy ${accuracy}`;
  $("model").dataset.version = String(state.version);
  if (state.version !== view.version) {
    view.version = state.version;
    drawPlot(state.history);
    await rescore();
  }
}

function onKey(event) {
  if (event.target.tagName === "INPUT") return;
  const cards = visibleCards();
  const focused = cards[view.focus];
  if (!$("large").hidden && event.key === "Escape") { $("large").hidden = true; return; }
  if (/^[0-9]$/.test(event.key) && focused) {
    const cls = view.state.classes[(Number(event.key) + 9) % 10];  // 1…9, then 0 for the 10th
    if (cls) label(focused, cls);
  } else if (event.key === "ArrowRight" || event.key === "l") {
    view.focus = Math.min(view.focus + 1, cards.length - 1); render();
  } else if (event.key === "ArrowLeft" || event.key === "h") {
    view.focus = Math.max(view.focus - 1, 0); render();
  } else if (event.key === "Enter" && focused) {
    enlarge(focused);
  } else if (event.key === "u" || (event.key === "z" && event.ctrlKey)) {
    undo();
  } else {
    return;
  }
  event.preventDefault();
}

async function start() {
  $("labeller").value = localStorage.getItem("galvision-labeller") || "";
  let previous = labeller();
  $("labeller").onchange = async () => {  // a new name gives back what the old one held
    await post("/api/release", { labeller: previous });
    previous = labeller();
    localStorage.setItem("galvision-labeller", previous);
    view.cards = [];
    await topUp();
  };
  await refreshState();
  for (const name of view.state.strategies) {
    $("strategy").add(new Option(name, name, false, name === view.state.strategy));
  }
  for (const cls of view.state.classes) $("filter").add(new Option(`predicted ${cls}`, cls));
  $("strategy").onchange = async () => {
    view.cards = [];
    await post("/api/release", { labeller: labeller() });
    await topUp();
  };
  $("filter").onchange = render;
  $("sort").onchange = render;
  $("undo").onclick = undo;
  $("large").onclick = () => { $("large").hidden = true; };
  document.addEventListener("keydown", onKey);
  await topUp();
  setInterval(() => refreshState().catch((e) => say(`server unreachable: ${e.message}`)), POLL_MS);
}

start();
