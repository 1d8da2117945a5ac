// The monitoring view: reads GET /monitoring every few seconds while the page is visible and
// draws the chosen window (the last rows or the last minutes): drift of each stat as bars of
// PSI with the 0.2 line, how often the model says legendary against the reference's range, the
// chances it gives against the reference's, the expected precision, recall and F1, and a
// history of the last polls kept in the page. Charts are SVG built here (no library, no inline
// style: the Content-Security-Policy allows neither). A model that is not monitored (404) or
// not loaded yet (503) gets the server's message instead of the view, and the page keeps asking.
"use strict";

/** Seconds between polls; `?every=N` (1-60) sets another. */
const POLL_SECONDS = 5;
/** Polls kept for the history. */
const HISTORY = 60;
/** Each monitored feature in words. */
const FEATURE_NAMES = {
  hp: "HP", attack: "Attack", defense: "Defense", special_attack: "Special Attack",
  special_defense: "Special Defense", speed: "Speed", total: "Total",
};
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const whole = new Intl.NumberFormat("en");

/** The window shown: "rows" or "time". */
let chosen = "rows";
let every = POLL_SECONDS;
/** The last report, redrawn when the window changes or the page is resized. */
let last = null;
/** One entry per successful poll, oldest first: per window the answer rate and largest PSI. */
const polls = [];
let timer = 0;
let inFlight = false;

// ---- talking to the server ------------------------------------------------------------

/** Fetches JSON; a non-2xx answer throws an Error carrying the server's `message` and status. */
async function api(path) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store" });
  } catch (e) {
    throw new Error(`The server could not be reached (${e.message}).`);
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const message = body && body.message ? body.message : text || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

async function poll() {
  if (inFlight) return;
  inFlight = true;
  clearTimeout(timer);
  try {
    const report = await api("/monitoring");
    remember(report);
    last = report;
    show();
  } catch (e) {
    last = null;
    showProblem(e);
  } finally {
    inFlight = false;
  }
  if (!document.hidden) timer = setTimeout(poll, every * 1000);
}

// ---- formatting -----------------------------------------------------------------------------

const finite = (x) => typeof x === "number" && Number.isFinite(x);

function pct(x, digits = 1) {
  return finite(x) ? `${(x * 100).toFixed(digits)}%` : "–";
}

function fixed(x, digits = 3) {
  return finite(x) ? x.toFixed(digits) : "–";
}

/** "the last 1,000 rows" from the server's "the last 1000 rows". */
function spanText(span) {
  return span.replace(/\d{4,}/g, (n) => whole.format(Number(n)));
}

// ---- drawing --------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets a node's text only when it changes (a live region is announced on every change). */
function say(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const SECTIONS = [".mon-drift", ".mon-answers", ".mon-expected", ".mon-history"];

function showProblem(error) {
  for (const s of SECTIONS) document.querySelector(s).hidden = true;
  $("window-choice").hidden = true;
  $("window-summary").textContent = "";
  let text = error.message;
  if (error.status === 404) text = `This model is not monitored: ${error.message}`;
  else if (error.status === 503) text = `${error.message} This page asks again every ${every} s.`;
  const status = $("monitor-status");
  let message = $("monitor-message");
  if (!message) {
    message = el("p", "notice");
    message.id = "monitor-message";
    status.replaceChildren(message);
  }
  message.dataset.status = String(error.status || "");
  say(message, text);
}

function show() {
  const report = last;
  const w = report.windows.find((x) => x.window === chosen) || report.windows[0];
  for (const s of SECTIONS) document.querySelector(s).hidden = false;
  $("window-choice").hidden = false;
  for (const x of report.windows) {
    const span = $(`span-${x.window}`);
    if (span) say(span, spanText(x.span));
  }
  say($("monitor-status"), `Watching ${report.version ? `version ${report.version} of the model` : "the served model"}.`);
  const min = report.thresholds.min_rows;
  let summary = `${whole.format(w.rows)} rows scored in ${spanText(w.span)}; ` +
    `${whole.format(report.rows_total)} since the model was loaded.`;
  if (w.rows === 0) summary += " Nothing to compare yet: score some rows.";
  else if (w.rows < min) summary += ` Fewer than ${whole.format(min)} rows give numbers but no verdict: noise alone moves them that much.`;
  $("window-summary").textContent = summary;
  drawDrift(w, report.thresholds);
  drawRate(w, report.reference, min);
  drawMix(w);
  drawExpected(w, report);
  drawHistory(report);
}

/** One bar per stat: its PSI against the 0.2 line, drifted ones marked in colour and words. */
function drawDrift(w, thresholds) {
  const psis = w.features.map((f) => (finite(f.psi) ? f.psi : 0));
  // The line stays in view: the scale is at least twice the threshold, at most 1 (bars clip).
  const max = Math.min(Math.max(2 * thresholds.psi, ...psis), Math.max(1, 2 * thresholds.psi));
  const rows = w.features.map((f) => {
    const row = el("div", `bar-row drift-row${f.drifted ? " drifted" : ""}`);
    row.setAttribute("role", "listitem");
    row.dataset.feature = f.name;
    row.dataset.drifted = String(f.drifted);
    if (finite(f.psi)) row.dataset.psi = String(f.psi);
    if (finite(f.js)) row.dataset.js = String(f.js);
    const name = el("span", "name", FEATURE_NAMES[f.name] || f.name);
    if (f.drifted) name.append(" ", el("span", "badge", "drifted"));
    const track = el("span", "track");
    const bar = el("span", "bar");
    bar.style.width = `${Math.min(1, (finite(f.psi) ? f.psi : 0) / max) * 100}%`;
    const line = el("span", "line");
    line.style.left = `${(thresholds.psi / max) * 100}%`;
    track.append(bar, line);
    const value = el("span", "value");
    value.append(el("span", "visually-hidden", "PSI "), fixed(f.psi));
    const sub = el("span", "sub", `JS distance ${fixed(f.js)}${finite(f.js) && f.js >= thresholds.js ? ` (${thresholds.js} or more)` : ""}`);
    row.append(name, track, value, sub);
    row.title = `${FEATURE_NAMES[f.name] || f.name}: PSI ${fixed(f.psi)}, Jensen–Shannon distance ${fixed(f.js)}`;
    return row;
  });
  $("drift-chart").replaceChildren(...rows);
  $("drift-line-label").style.left = `${(thresholds.psi / max) * 100}%`;
  $("drift-line-label").textContent = `${thresholds.psi} drift line`;
  $("drift-max").textContent = fixed(max, 1);
}

/** The share answered legendary, on a bar with the reference's rate and its calm range. */
function drawRate(w, reference, minRows) {
  const [lo, hi] = reference.positive_rate_range;
  const rate = w.positive_rate;
  const max = Math.min(1, Math.ceil(Math.max(2 * hi, finite(rate) ? rate * 1.1 : 0) * 10) / 10);
  const at = (x) => `${Math.min(1, x / max) * 100}%`;
  const meter = $("rate-meter");
  const band = meter.querySelector(".band");
  band.style.left = at(lo);
  band.style.width = `${Math.max(0, Math.min(1, hi / max) - lo / max) * 100}%`;
  meter.querySelector(".fill").style.width = at(finite(rate) ? rate : 0);
  meter.querySelector(".mark").style.left = at(reference.positive_rate);
  const ref = $("rate-ref-label");
  ref.style.left = at(reference.positive_rate);
  ref.textContent = `${pct(reference.positive_rate)} reference`;
  $("rate-max").textContent = pct(max, 0);
  const text = $("rate-text");
  text.dataset.value = finite(rate) ? String(rate) : "";
  text.classList.toggle("alarm", w.positive_rate_outside_range);
  if (!finite(rate)) {
    text.textContent = "No answers in this window yet.";
    return;
  }
  const value = el("strong", "", pct(rate));
  value.id = "rate-value";
  text.replaceChildren(value,
    ` of the ${whole.format(w.rows)} rows answered legendary; ${pct(reference.positive_rate)} of the reference rows, ` +
    `and anything from ${pct(lo)} to ${pct(hi)} is no cause for alarm. `,
    w.positive_rate_outside_range ? el("strong", "verdict-alarm", "Outside that range.")
      : el("span", "", w.rows >= minRows ? "Inside that range." : ""));
}

/** The chances' histogram: this window's share of rows per tenth, beside the reference's. */
function drawMix(w) {
  const p = w.prediction;
  const total = p.counts.reduce((a, b) => a + b, 0);
  const shares = p.counts.map((c) => (total > 0 ? c / total : 0));
  const ref = p.reference;
  const bins = shares.length;
  const label = (i) => `${i * 10}–${(i + 1) * 10}%`;
  const box = $("mix-chart");
  const width = Math.max(300, box.clientWidth || 600);
  const height = 210;
  const [left, right, top, bottom] = [44, 8, 10, 40];
  const top2 = Math.max(...shares, ...ref, 0.01);
  const ymax = Math.ceil(top2 * 10) / 10;
  const y = (v) => top + (1 - v / ymax) * (height - top - bottom);
  const slot = (width - left - right) / bins;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "mix-title", "aria-describedby": "mix-text" });
  chart.classList.add("plot");
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid-line" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, pct(v, 0)));
  }
  for (let i = 0; i < bins; i++) {
    const x = left + i * slot;
    const bar = (share, cls, dx) => {
      const rect = svg("rect", { x: x + dx, y: y(share), width: slot * 0.38, height: Math.max(0, y(0) - y(share)), class: cls });
      rect.dataset.bin = String(i);
      rect.dataset.share = String(share);
      rect.append(svg("title", {}, `${label(i)}: ${pct(share)} of ${cls === "window" ? "this window" : "the reference"}`));
      return rect;
    };
    chart.append(bar(shares[i], "window", slot * 0.1), bar(ref[i], "reference", slot * 0.52));
    if (i % (width < 420 ? 2 : 1) === 0) {
      chart.append(svg("text", { x: x + slot / 2, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, width < 520 ? `${i * 10}%` : label(i)));
    }
  }
  chart.append(svg("text", { x: left + (width - left - right) / 2, y: height - 6, "text-anchor": "middle", class: "axis" }, "chance of legendary"));
  box.replaceChildren(chart);
  const most = shares.indexOf(Math.max(...shares));
  $("mix-text").textContent = total === 0 ? "No answers in this window yet." :
    `Most rows of this window get a chance of ${label(most)} (${pct(shares[most])}; ${pct(ref[most])} of the reference). ` +
    `PSI ${fixed(p.psi)}, Jensen–Shannon distance ${fixed(p.js)}${p.drifted ? ": the chances have drifted." : "."}`;
  $("mix-text").dataset.psi = finite(p.psi) ? String(p.psi) : "";
}

/** Expected precision, recall and F1, and what the window is compared with. */
function drawExpected(w, report) {
  const e = w.expected;
  const dd = (id, value, text) => {
    const node = el("dd", "", text);
    node.id = id;
    node.dataset.value = finite(value) ? String(value) : "";
    return node;
  };
  $("expected").replaceChildren(
    el("dt", "", "Precision"), dd("expected-precision", e.precision, finite(e.precision)
      ? `${pct(e.precision)} of its "legendary" answers are likely right` : "– (no legendary answers)"),
    el("dt", "", "Recall"), dd("expected-recall", e.recall, finite(e.recall)
      ? `it likely finds ${pct(e.recall)} of the legendaries` : "– (no likely legendaries)"),
    el("dt", "", "F1"), dd("expected-f1", e.f1, finite(e.f1) ? `${fixed(e.f1, 2)} (1 is perfect)` : "–"),
  );
  const r = report.reference;
  $("reference").replaceChildren(
    el("dt", "", "Training rows"), el("dd", "", r.source),
    el("dt", "", "Reference chances"), el("dd", "", r.prediction_source),
    el("dt", "", "Since loaded"), el("dd", "", `${whole.format(report.rows_total)} rows, ${whole.format(report.positives_total)} answered legendary`),
  );
}

// ---- history --------------------------------------------------------------------------------

function remember(report) {
  const entry = { at: Date.now() };
  for (const w of report.windows) {
    const psis = w.features.map((f) => f.psi).filter(finite);
    entry[w.window] = { rate: w.positive_rate, psi: psis.length ? Math.max(...psis) : null };
  }
  polls.push(entry);
  if (polls.length > HISTORY) polls.shift();
}

function drawHistory(report) {
  const n = polls.length;
  const text = $("history-text");
  text.dataset.polls = String(n);
  text.textContent = `The last ${n} ${n === 1 ? "poll" : "polls"} of ${HISTORY}, one every ${every} s, ` +
    "kept in this page only (a reload starts over); the newest on the right.";
  const [lo, hi] = report.reference.positive_rate_range;
  spark("history-rate", polls.map((h) => h[chosen] && h[chosen].rate), {
    title: "history-rate-title", band: [lo, hi], floor: 2 * hi, format: (v) => pct(v),
    describe: `between ${pct(lo)} and ${pct(hi)} is the reference's calm range (shaded)`,
  });
  spark("history-psi", polls.map((h) => h[chosen] && h[chosen].psi), {
    title: "history-psi-title", line: report.thresholds.psi, floor: 2 * report.thresholds.psi,
    format: (v) => fixed(v), describe: `the dashed line is the ${report.thresholds.psi} drift line`,
  });
}

/** A line of the polls' values, newest on the right, with a band or a threshold line. */
function spark(id, values, opts) {
  const box = $(id);
  const width = Math.max(260, box.clientWidth || 500);
  const height = 96;
  const [left, right, top, bottom] = [48, 60, 8, 8];
  const known = values.filter(finite);
  const ymax = Math.max(opts.floor, ...known) * 1.05;
  const y = (v) => top + (1 - v / ymax) * (height - top - bottom);
  const step = (width - left - right) / (HISTORY - 1);
  const x = (i) => width - right - (values.length - 1 - i) * step;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": opts.title });
  chart.classList.add("plot", "spark");
  if (opts.band) {
    chart.append(svg("rect", { x: left, width: width - left - right, y: y(opts.band[1]), height: Math.max(0, y(opts.band[0]) - y(opts.band[1])), class: "calm" }));
  }
  if (opts.line !== undefined) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(opts.line), y2: y(opts.line), class: "threshold" }));
  }
  chart.append(svg("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), class: "grid-line" }),
    svg("text", { x: left - 6, y: y(0), "text-anchor": "end", class: "axis" }, opts.format(0)),
    svg("text", { x: left - 6, y: top + 10, "text-anchor": "end", class: "axis" }, opts.format(ymax)));
  const points = values.map((v, i) => (finite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
  if (points.length) {
    chart.append(svg("polyline", { points: points.join(" "), class: "spark-line" }));
    const lastAt = values.length - 1;
    if (finite(values[lastAt])) {
      chart.append(svg("circle", { cx: x(lastAt), cy: y(values[lastAt]), r: 3.5, class: "spark-dot" }),
        svg("text", { x: x(lastAt) + 8, y: y(values[lastAt]) + 4, class: "axis now" }, opts.format(values[lastAt])));
    }
  }
  const first = known.length ? opts.format(known[0]) : "–";
  const now = known.length ? opts.format(known[known.length - 1]) : "–";
  chart.append(svg("desc", { id: `${id}-desc` }, `${known.length} polls, from ${first} to ${now} now; ${opts.describe}.`));
  chart.setAttribute("aria-describedby", `${id}-desc`);
  box.dataset.points = String(points.length);
  box.replaceChildren(chart);
}

// ---- start ----------------------------------------------------------------------------------

function choose(value) {
  chosen = value === "time" ? "time" : "rows";
  const params = new URLSearchParams(location.search);
  if (chosen === "rows") params.delete("window");
  else params.set("window", chosen);
  const query = params.toString();
  if (last) show();
  window.history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(location.search);
  const asked = Number(params.get("every"));
  if (Number.isInteger(asked) && asked >= 1 && asked <= 60) every = asked;
  chosen = params.get("window") === "time" ? "time" : "rows";
  for (const radio of document.querySelectorAll("input[name='window']")) {
    radio.checked = radio.value === chosen;
    radio.addEventListener("change", () => { if (radio.checked) choose(radio.value); });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer);
    else poll();
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (last) show(); }, 150);
  });
  poll();
});
