// The page's behaviour: keeps each number in step with its slider, searches the Pokédex,
// asks POST /pokemon-type for the answer, draws the model card and importances from
// GET /model, and lists the data catalogue (GET /datasets). Plain DOM and fetch; errors
// from the server are shown with their message.
"use strict";

const STATS = ["hp", "attack", "defence", "special_attack", "special_defense", "speed"];
const LABELS = {
  hp: "HP", attack: "Attack", defense: "Defense", special_attack: "Sp. Attack",
  special_defense: "Sp. Defense", speed: "Speed", total: "Total", min: "Lowest stat",
  max: "Highest stat", spread: "Spread",
};

const $ = (id) => document.getElementById(id);
let picked = null; // the Pokémon whose stats are in the form, until a stat is edited

// ---- talking to the server ------------------------------------------------------------

/** Fetches JSON; a non-2xx answer throws an Error carrying the server's `message`. */
async function api(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error(`The server could not be reached (${e.message}).`);
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const message = body && body.message ? body.message : text || response.statusText;
    throw new Error(`${message} (HTTP ${response.status})`);
  }
  return body;
}

// ---- the stats form ---------------------------------------------------------------------

function updateTotal() {
  const sum = STATS.reduce((acc, s) => acc + (Number.parseFloat($(s).value) || 0), 0);
  $("total").textContent = String(Math.round(sum * 100) / 100);
}

function setStat(stat, value) {
  $(stat).value = String(value);
  $(`${stat}-range`).value = String(value);
}

/** The body sent to the server: numbers where the field holds one, else the raw text. */
function readStats() {
  const body = {};
  for (const s of STATS) {
    const raw = $(s).value;
    const n = Number(raw);
    body[s] = raw.trim() !== "" && Number.isFinite(n) ? n : raw;
  }
  return body;
}

async function predict() {
  const error = $("error");
  try {
    const answer = await api("/pokemon-type", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(readStats()),
    });
    error.hidden = true;
    error.textContent = "";
    showAnswer(answer);
  } catch (e) {
    $("answer").replaceChildren(hint("No answer: the server refused the request."));
    error.textContent = e.message;
    error.hidden = false;
  }
}

function showAnswer(answer) {
  const pct = (answer.probability * 100).toFixed(1);
  const verdict = el("p", `verdict ${answer.is_legendary ? "legendary" : "ordinary"}`,
    answer.is_legendary ? "Legendary" : "Not legendary");
  verdict.id = "verdict";
  const prob = el("p", "probability", `Probability of legendary: ${pct}%`);
  prob.id = "probability";
  const meter = el("div", "meter");
  meter.setAttribute("aria-hidden", "true");
  const fill = el("span");
  fill.style.width = `${Math.min(100, Math.max(0, answer.probability * 100))}%`;
  meter.append(fill);
  const parts = [verdict, prob, meter];
  if (picked) {
    const truth = picked.legendary ? "legendary" : "not legendary";
    parts.push(hint(`${picked.name} (#${picked.number}, generation ${picked.generation}, ` +
      `${picked.category}) is ${truth} in the data set.`));
  }
  $("answer").replaceChildren(...parts);
}

/** A stat was edited by hand: the form no longer holds the picked Pokémon's stats. */
function unpick() {
  if (!picked) return;
  picked = null;
  $("search-status").textContent = "";
}

function wireStats() {
  for (const s of STATS) {
    const number = $(s);
    const range = $(`${s}-range`);
    number.addEventListener("input", () => {
      const n = Number(number.value);
      if (number.value.trim() !== "" && Number.isFinite(n)) range.value = String(n);
      unpick();
      updateTotal();
    });
    range.addEventListener("input", () => {
      number.value = range.value;
      unpick();
      updateTotal();
    });
    range.addEventListener("change", predict);
  }
  $("stats").addEventListener("submit", (event) => {
    event.preventDefault();
    predict();
  });
}

// ---- search -------------------------------------------------------------------------------

let searchTimer = 0;
let searchSeq = 0;
let matches = [];
let active = -1;

function closeResults() {
  $("search-results").hidden = true;
  $("search").setAttribute("aria-expanded", "false");
  $("search").removeAttribute("aria-activedescendant");
  active = -1;
}

function highlight(index) {
  const items = $("search-results").children;
  for (let i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", String(i === index));
  active = index;
  if (index >= 0 && items[index]) {
    $("search").setAttribute("aria-activedescendant", items[index].id);
    items[index].scrollIntoView({ block: "nearest" });
  }
}

function showResults(list) {
  matches = list;
  const ul = $("search-results");
  ul.replaceChildren(...list.map((p, i) => {
    const li = el("li");
    li.id = `match-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.name = p.name;
    li.append(el("span", "name", p.name), el("span", "meta", `#${p.number} · gen ${p.generation}`));
    li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(p); });
    return li;
  }));
  const open = list.length > 0;
  ul.hidden = !open;
  $("search").setAttribute("aria-expanded", String(open));
  $("search-status").textContent = open ? `${list.length} match${list.length === 1 ? "" : "es"}` : "No Pokémon with that name.";
  highlight(open ? 0 : -1);
}

async function search(q) {
  const seq = ++searchSeq;
  try {
    const list = await api(`/pokedex?q=${encodeURIComponent(q)}&limit=10`);
    if (seq === searchSeq) showResults(list);
  } catch (e) {
    if (seq !== searchSeq) return;
    closeResults();
    $("search-status").textContent = e.message;
  }
}

function pick(p) {
  setStat("hp", p.stats.hp);
  setStat("attack", p.stats.attack);
  setStat("defence", p.stats.defense);
  setStat("special_attack", p.stats.special_attack);
  setStat("special_defense", p.stats.special_defense);
  setStat("speed", p.stats.speed);
  updateTotal();
  $("search").value = p.name;
  $("search-status").textContent = `${p.name}'s stats are filled in.`;
  closeResults();
  picked = p;
  predict();
}

function wireSearch() {
  const input = $("search");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    const q = input.value.trim();
    if (!q) { closeResults(); $("search-status").textContent = ""; return; }
    searchTimer = setTimeout(() => search(q), 120);
  });
  input.addEventListener("keydown", (event) => {
    const open = !$("search-results").hidden;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      highlight(Math.min(active + 1, matches.length - 1));
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (open && matches[active]) pick(matches[active]);
      else if (input.value.trim()) search(input.value.trim());
    } else if (event.key === "Escape") {
      closeResults();
    }
  });
  input.addEventListener("blur", () => setTimeout(closeResults, 100));
}

// ---- model card and importance chart -----------------------------------------------------

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function showModel(card) {
  const meta = card.meta || {};
  const metrics = card.metrics || {};
  const hold = metrics.holdout || {};
  const cv = (metrics.cross_validation && metrics.cross_validation.summary) || {};
  const stage = meta.stage || (meta.aliases && meta.aliases.length ? `@${meta.aliases.join(", @")}` : null);
  const rows = [
    ["Model", meta.name || "bundled model"],
    ["Version", meta.version || "–"],
    ["Stage or alias", stage || "–"],
    ["Run id", meta.run_id || "–"],
    ["Trained", meta.trained_at || "–"],
    ["Source", meta.uri || "–"],
    ["Flavor", meta.flavor || "–"],
    ...(meta.sklearn
      ? [
          ["Estimator", meta.sklearn.estimator],
          ["scikit-learn", meta.sklearn.sklearn_version || "–"],
          ["Serialization", meta.sklearn.serialization_format],
        ]
      : []),
    ["Trees", card.n_trees != null ? String(card.n_trees) : "–"],
    ["Decision threshold", fmt(card.decision_threshold, 2)],
    ["Held-out ROC AUC", fmt(hold.roc_auc)],
    ["Held-out accuracy", fmt(hold.accuracy)],
    ["Held-out F1", fmt(hold.f1)],
    ["CV ROC AUC (mean)", fmt(cv.roc_auc_mean)],
    ["CV accuracy (mean)", fmt(cv.accuracy_mean)],
    ["CV F1 (mean)", fmt(cv.f1_mean)],
  ];
  $("model-card").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", "", k), el("dd", "", v)]));
  drawImportance(card.feature_importance && card.feature_importance.permutation);
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Horizontal bars of the mean importance, with a whisker of ± one standard deviation. */
function drawImportance(items) {
  const box = $("importance");
  if (!Array.isArray(items) || items.length === 0) {
    box.replaceChildren(hint("This model has no permutation importances."));
    return;
  }
  const sorted = [...items].sort((a, b) => b.mean - a.mean);
  const lo = Math.min(0, ...sorted.map((d) => d.mean - (d.std || 0)));
  const hi = Math.max(1e-9, ...sorted.map((d) => d.mean + (d.std || 0)));
  const W = 480, left = 110, right = 56, rowH = 26, top = 6;
  const H = top * 2 + rowH * sorted.length;
  const x = (v) => left + ((v - lo) / (hi - lo)) * (W - left - right);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "importance-chart",
    "aria-label": "Permutation importance by feature: " +
      sorted.map((d) => `${LABELS[d.feature] || d.feature} ${fmt(d.mean)}`).join(", ") });
  sorted.forEach((d, i) => {
    const y = top + i * rowH;
    const x0 = x(0), x1 = x(d.mean);
    chart.append(svg("text", { x: left - 8, y: y + rowH / 2 + 4, "text-anchor": "end" },
      LABELS[d.feature] || d.feature));
    chart.append(svg("rect", { class: "bar", x: Math.min(x0, x1), y: y + 5,
      width: Math.max(1, Math.abs(x1 - x0)), height: rowH - 10, rx: 3 }));
    if (d.std) {
      chart.append(svg("line", { class: "whisker", x1: x(d.mean - d.std), x2: x(d.mean + d.std),
        y1: y + rowH / 2, y2: y + rowH / 2 }));
    }
    chart.append(svg("text", { class: "value", x: W - right + 6, y: y + rowH / 2 + 4 }, fmt(d.mean)));
  });
  chart.append(svg("line", { class: "whisker", x1: x(0), x2: x(0), y1: top, y2: H - top }));
  box.replaceChildren(chart);
}

async function loadModel() {
  try {
    showModel(await api("/model"));
  } catch (e) {
    $("model-card").replaceChildren(el("dt", "", "Status"), el("dd", "", e.message));
    $("importance").replaceChildren(hint(e.message));
  }
}

// ---- the data catalogue --------------------------------------------------------------------

let datasetsSeq = 0;

/** Lists the data sets matching the box: a bare number 1-9 is a generation, other text a name, type or owner. */
async function loadDatasets(text) {
  const seq = ++datasetsSeq;
  const q = text.trim();
  const query = /^[1-9]$/.test(q) ? `generation=${q}` : `q=${encodeURIComponent(q)}`;
  try {
    const list = await api(`/datasets?${query}`);
    if (seq !== datasetsSeq) return;
    $("datasets").querySelector("tbody").replaceChildren(...list.map((d) => {
      const tr = document.createElement("tr");
      const cells = [d.title || d.name, d.generation, d.rows, d.legendary_rows,
        d.bytes === null || d.bytes === undefined ? "" : `${d.bytes} B`, d.owner, d.created, d.location];
      tr.append(...cells.map((c) => el("td", "", c === null || c === undefined ? "" : String(c))));
      tr.title = d.digest || "";
      return tr;
    }));
    $("datasets-status").textContent = `${list.length} data set${list.length === 1 ? "" : "s"}`;
  } catch (e) {
    if (seq === datasetsSeq) $("datasets-status").textContent = e.message;
  }
}

function wireDatasets() {
  const input = $("datasets-search");
  input.addEventListener("input", () => loadDatasets(input.value));
  loadDatasets("");
}

// ---- helpers and start ---------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hint(text) {
  return el("p", "hint", text);
}

wireStats();
wireSearch();
wireDatasets();
updateTotal();
loadModel();
