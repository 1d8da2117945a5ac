// The page's core: the six stats (number fields with sliders in step, checked against the
// page's bounds), the Pokédex search, and asking POST /pokemon-type?explain=true. The answer
// and its why are drawn by why.js, the shareable URL and "copy as curl" are share.js, the
// model card, overall importances and data catalogue card.js; they load in that order after
// this file and share its helpers. Plain DOM and fetch; the server's error messages are shown
// as it words them.
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

const $ = (id) => document.getElementById(id);
/** The Pokémon whose stats are in the form, until a stat is edited. */
let picked = null;
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
