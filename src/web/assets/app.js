// The page's core: the six stats (number fields with sliders in step), the Pokédex search,
// the answer with its "why" from POST /pokemon-type?explain=true, the shareable URL and the
// "copy as curl" button. The model card, the overall importances and the data catalogue are
// in card.js. Plain DOM and fetch; the server's error messages are shown as it words them.
"use strict";

/** The form's fields, named as the demo API reads them (it spells `defence`). */
const STATS = ["hp", "attack", "defence", "special_attack", "special_defense", "speed"];
/** Each field's name in the Pokédex, the explanation and the shared URL. */
const KEY = {
  hp: "hp", attack: "attack", defence: "defense", special_attack: "special_attack",
  special_defense: "special_defense", speed: "speed",
};
/** Each stat in words, by its explanation key. */
const NAMES = {
  hp: "HP", attack: "Attack", defense: "Defense", special_attack: "Special Attack",
  special_defense: "Special Defense", speed: "Speed",
};
/** The page's bounds: base stats are whole numbers 1-255 in the games (the API takes any ≥ 0). */
const MIN_STAT = 1;
const MAX_STAT = 255;
/** Answers this close to the decision line (in probability) are called borderline. */
const BORDERLINE = 0.10;

const $ = (id) => document.getElementById(id);
/** The Pokémon whose stats are in the form, until a stat is edited. */
let picked = null;
/** The model's decision line, from GET /model (card.js); 0.5 until it is known. */
let threshold = 0.5;
/** The last answer shown, redrawn when the threshold becomes known. */
let shown = null;
let predictSeq = 0;

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
    const error = new Error(`${message} (HTTP ${response.status})`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- the stats form -----------------------------------------------------------------------

function label(stat) {
  return $(`${stat}-label`).textContent;
}

function updateTotal() {
  const sum = STATS.reduce((acc, s) => acc + (Number.parseFloat($(s).value) || 0), 0);
  $("total").textContent = String(Math.round(sum * 100) / 100);
}

function setStat(stat, value) {
  $(stat).value = String(value);
  $(`${stat}-range`).value = String(value);
}

/**
 * The form checked against the page's bounds: `{stats}` when every field holds a whole number
 * 1-255, else `{problems}` naming each bad field. The page never sends what it calls invalid.
 */
function readForm() {
  const stats = {};
  const problems = [];
  for (const s of STATS) {
    const field = $(s);
    const raw = field.value.trim();
    const n = Number(raw);
    let problem = null;
    if (field.validity.badInput) problem = `${label(s)} is not a number.`;
    else if (raw === "") problem = `${label(s)} is empty.`;
    else if (!Number.isInteger(n) || n < MIN_STAT || n > MAX_STAT) {
      problem = `${label(s)} must be a whole number from ${MIN_STAT} to ${MAX_STAT} (base stats in the games), got ${raw}.`;
    }
    field.setAttribute("aria-invalid", String(problem !== null));
    if (problem) problems.push(problem);
    else stats[s] = n;
  }
  return problems.length ? { problems } : { stats };
}

function showError(text) {
  const error = $("error");
  error.textContent = text;
  error.hidden = !text;
}

async function predict() {
  const seq = ++predictSeq;
  const form = readForm();
  updateShare(form.stats);
  if (form.problems) {
    shown = null;
    $("answer").replaceChildren(hint("No answer until every stat is a whole number from 1 to 255."));
    $("why").hidden = true;
    showError(form.problems.join(" "));
    return;
  }
  try {
    const answer = await ask(form.stats);
    if (seq !== predictSeq) return;
    showError("");
    shown = { answer, stats: form.stats };
    showAnswer(answer, form.stats);
  } catch (e) {
    if (seq !== predictSeq) return;
    shown = null;
    $("answer").replaceChildren(hint("No answer: the server refused the request."));
    $("why").hidden = true;
    showError(e.message);
  }
}

/**
 * The explained answer; when the server answers but cannot explain (a model it has no
 * explanation for), the plain answer, with why not in `unexplained`.
 */
async function ask(stats) {
  const request = (path) => api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(stats),
  });
  try {
    return await request("/pokemon-type?explain=true");
  } catch (e) {
    if (!(e.status >= 500 || /explain/i.test(e.message))) throw e;
    const answer = await request("/pokemon-type");
    answer.unexplained = e.message;
    return answer;
  }
}

let sliderTimer = 0;

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
    number.addEventListener("change", predict);
    // Dragging or arrow keys re-score as the slider moves, a moment after it stops.
    range.addEventListener("input", () => {
      number.value = range.value;
      unpick();
      updateTotal();
      clearTimeout(sliderTimer);
      sliderTimer = setTimeout(predict, 120);
    });
  }
  $("stats").addEventListener("submit", (event) => {
    event.preventDefault();
    predict();
  });
}

/** A stat was edited by hand: the form no longer holds the picked Pokémon's stats. */
function unpick() {
  if (!picked) return;
  picked = null;
  $("search-status").textContent = "";
}

// ---- the answer and its why ----------------------------------------------------------------

/** Percentage points with one decimal and a real minus sign: `+21.3`, `−3.2`. */
function points(x) {
  const v = (x * 100).toFixed(1);
  return x < 0 ? `−${v.slice(1)}` : `+${v}`;
}

function percent(x) {
  return `${(x * 100).toFixed(1)}%`;
}

/** Called by card.js once the model's decision line is known. */
function setThreshold(t) {
  if (typeof t !== "number" || !Number.isFinite(t)) return;
  threshold = t;
  if (shown) showAnswer(shown.answer, shown.stats);
}

/** The explanation's pushes, biggest first: `[{key, value, push}]`, or null without one. */
function pushes(answer, stats) {
  const c = answer.contributions;
  if (typeof answer.base_value !== "number" || !c || typeof c !== "object") return null;
  const list = STATS.map((s) => ({ key: KEY[s], value: stats[s], push: c[KEY[s]] }));
  if (list.some((d) => typeof d.push !== "number")) return null;
  return list.sort((a, b) => Math.abs(b.push) - Math.abs(a.push));
}

/** "Special Attack 154 pushes it up by 21.3 points". */
function reason(d) {
  const size = Math.abs(d.push * 100).toFixed(1);
  return `${NAMES[d.key]} ${d.value} ${d.push >= 0 ? "pushes it up" : "pulls it down"} by ${size} points`;
}

function showAnswer(answer, stats) {
  const p = answer.probability;
  const borderline = Math.abs(p - threshold) < BORDERLINE;
  const verdict = el("p", `verdict ${borderline ? "borderline" : answer.is_legendary ? "legendary" : "ordinary"}`,
    borderline ? "Borderline — could go either way" : answer.is_legendary ? "Legendary" : "Not legendary");
  verdict.id = "verdict";
  const prob = el("p", "probability", `Chance of legendary: ${percent(p)}`);
  prob.id = "probability";
  const parts = [verdict, prob, meter(p)];
  if (borderline) {
    const side = p > threshold ? "above" : "at or below";
    const lean = el("p", "lean", `It leans ${answer.is_legendary ? "legendary" : "not legendary"}: ` +
      `${percent(p)} is ${Math.abs((p - threshold) * 100).toFixed(1)} points ${side} the ${percent(threshold)} line, ` +
      `within ${(BORDERLINE * 100).toFixed(0)} points of it, where a small change in a stat can flip the answer.`);
    lean.id = "lean";
    parts.push(lean);
  }
  const list = pushes(answer, stats);
  if (list) {
    // The top reason is the biggest push towards the answer given.
    const toward = list.find((d) => (answer.is_legendary ? d.push > 0 : d.push < 0)) || list[0];
    const top = el("p", "top-reason", `Top reason: ${reason(toward)}.`);
    top.id = "top-reason";
    parts.splice(1, 0, top);
  }
  if (answer.unexplained) parts.push(hint(`No explanation for this answer: ${answer.unexplained}`));
  if (picked) {
    const truth = picked.legendary ? "legendary" : "not legendary";
    parts.push(hint(`${picked.name} (#${picked.number}, generation ${picked.generation}, ` +
      `${picked.category}) is ${truth} in the data set.`));
  }
  $("answer").replaceChildren(...parts);
  showWhy(answer, list);
}

/** The probability bar: the borderline band, the decision line and the answer. */
function meter(p) {
  const box = el("div", "meter-box");
  const bar = el("div", "meter");
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `${percent(p)} on a bar from 0 to 100%; above ${percent(threshold)} ` +
    `means legendary, within ${(BORDERLINE * 100).toFixed(0)} points of it is borderline.`);
  const band = el("span", "band");
  const lo = Math.max(0, threshold - BORDERLINE);
  const hi = Math.min(1, threshold + BORDERLINE);
  band.style.left = `${lo * 100}%`;
  band.style.width = `${(hi - lo) * 100}%`;
  const fill = el("span", "fill");
  fill.style.width = `${Math.min(100, Math.max(0, p * 100))}%`;
  const mark = el("span", "mark");
  mark.id = "threshold-mark";
  mark.style.left = `${threshold * 100}%`;
  bar.append(band, fill, mark);
  const scale = el("div", "scale");
  scale.setAttribute("aria-hidden", "true");
  const line = el("span", "line", `${(threshold * 100).toFixed(0)}% line`);
  line.style.left = `${threshold * 100}%`;
  scale.append(el("span", "", "0%"), line, el("span", "end", "100%"));
  box.append(bar, scale);
  return box;
}

/** The waterfall: the average Pokémon's answer, each stat's push in size order, this answer. */
function showWhy(answer, list) {
  const why = $("why");
  if (!list) {
    why.hidden = true;
    return;
  }
  const base = answer.base_value;
  $("why-intro").textContent = `An average Pokémon gets ${percent(base)}. ` +
    `${list.slice(0, 3).map(reason).join("; ")}. Together the six stats take it to ${percent(answer.probability)}.`;
  const scale = (x) => `${Math.min(100, Math.max(0, x * 100))}%`;
  const row = (name, cls, from, to, value) => {
    const r = el("div", `step ${cls}`);
    r.setAttribute("role", "listitem");
    const track = el("span", "track");
    const bar = el("span", "bar");
    bar.style.left = scale(Math.min(from, to));
    bar.style.width = `max(3px, ${scale(Math.abs(to - from))})`;
    const line = el("span", "line");
    line.style.left = scale(threshold);
    track.append(line, bar);
    r.append(el("span", "name", name), track, value);
    return r;
  };
  const baseValue = el("span", "value", percent(base));
  baseValue.id = "why-base";
  baseValue.dataset.value = String(base);
  const rows = [row("Average Pokémon", "start", 0, base, baseValue)];
  let at = base;
  for (const d of list) {
    const value = el("span", "value push-value", points(d.push));
    value.dataset.push = String(d.push);
    const r = row(`${NAMES[d.key]} ${d.value}`, d.push >= 0 ? "up" : "down", at, at + d.push, value);
    r.dataset.stat = d.key;
    r.setAttribute("aria-label", `${reason(d)}.`);
    rows.push(r);
    at += d.push;
  }
  const total = el("span", "value", percent(answer.probability));
  total.id = "why-total";
  total.dataset.value = String(answer.probability);
  rows.push(row("This Pokémon", "end", 0, answer.probability, total));
  $("why-chart").replaceChildren(...rows);
  why.hidden = false;
}

// ---- sharing: the URL and the request as curl --------------------------------------------

/** Keeps the address bar on `/?hp=…&…` for the stats in the form, and the curl up to date. */
function updateShare(stats) {
  const q = new URLSearchParams();
  for (const s of STATS) q.set(KEY[s], $(s).value.trim());
  if (picked) q.set("name", picked.name);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  $("curl").textContent = stats ? curl(stats) : "Fix the stats first: the page sends only whole numbers from 1 to 255.";
}

/** The exact request the page sends, as a curl command against this server. */
function curl(stats) {
  return `curl -s -X POST '${location.origin}/pokemon-type?explain=true' ` +
    `-H 'Content-Type: application/json' -d '${JSON.stringify(stats)}'`;
}

async function copy(text, what) {
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = `Copied ${what}.`;
  } catch (_) {
    // No clipboard (an insecure origin, or permission refused): show it to copy by hand.
    const details = $("curl").closest("details");
    details.open = true;
    window.getSelection().selectAllChildren($("curl"));
    status.textContent = `Copy ${what} from the box below.`;
  }
}

function wireShare() {
  $("copy-curl").addEventListener("click", () => {
    const form = readForm();
    if (form.stats) copy(curl(form.stats), "the curl command");
    else showError(form.problems.join(" "));
  });
  $("copy-link").addEventListener("click", () => copy(location.href, "the link"));
}

/** `/?hp=…&attack=…&defense=…&special_attack=…&special_defense=…&speed=…[&name=…]` on load. */
async function fromUrl() {
  const q = new URLSearchParams(location.search);
  const given = STATS.filter((s) => q.has(KEY[s]) || (s === "defence" && q.has("defence")));
  const name = q.get("name");
  if (given.length === 0) {
    if (name) await searchAndPick(name);
    return;
  }
  for (const s of STATS) {
    const v = q.get(KEY[s]) ?? (s === "defence" ? q.get("defence") : null);
    if (v !== null) setStat(s, v);
  }
  updateTotal();
  if (name) {
    $("search").value = name;
    try {
      const [entry] = await api(`/pokedex?q=${encodeURIComponent(name)}&limit=1`);
      const same = entry && STATS.every((s) => Number($(s).value) === entry.stats[KEY[s]]);
      if (same) picked = entry;
    } catch (_) { /* the name is only a label then */ }
  }
  predict();
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
  $("search-status").textContent = open ? `${list.length} match${list.length === 1 ? "" : "es"}` : "No Pokémon with that name or number.";
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

async function searchAndPick(q) {
  $("search").value = q;
  try {
    const [first] = await api(`/pokedex?q=${encodeURIComponent(q)}&limit=1`);
    if (first) pick(first);
    else $("search-status").textContent = "No Pokémon with that name or number.";
  } catch (e) {
    $("search-status").textContent = e.message;
  }
}

function pick(p) {
  for (const s of STATS) setStat(s, p.stats[KEY[s]]);
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

// After every deferred script (card.js too) has run.
document.addEventListener("DOMContentLoaded", () => {
  wireStats();
  wireSearch();
  wireShare();
  updateTotal();
  updateCurlOnly();
  fromUrl();
});

/** The curl box for the initial stats, without touching the address bar. */
function updateCurlOnly() {
  const form = readForm();
  $("curl").textContent = form.stats ? curl(form.stats) : "";
}
