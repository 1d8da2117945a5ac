// The page's model side: the model card in plain words (what each number means, human dates),
// what the model looks at overall (permutation importance as bars), from GET /model, and the
// data catalogue (GET /datasets). Uses the helpers of app.js, which loads first.
"use strict";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "25 Nov 2026" from `2026-11-25 12:29:00.875896`, an RFC 3339 time or epoch milliseconds. */
function humanDate(raw) {
  if (raw === null || raw === undefined || raw === "") return null;
  const m = typeof raw === "string" && /^(\d{4})-(\d{2})-(\d{2})/.exec(raw);
  if (m) return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
  const d = new Date(typeof raw === "number" ? raw : Number(raw));
  if (Number.isNaN(d.getTime())) return String(raw);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

function pct(x, digits = 0) {
  return typeof x === "number" && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : "–";
}

function fixed(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function facts(id, rows) {
  $(id).replaceChildren(...rows.flatMap(([k, v, title]) => {
    const dd = el("dd", "", v);
    if (title) dd.title = title;
    return [el("dt", "", k), dd];
  }));
}

function showModel(card) {
  const meta = card.meta || {};
  const stage = meta.stage || (meta.aliases && meta.aliases.length ? `@${meta.aliases.join(", @")}` : null);
  const trained = humanDate(meta.trained_at);
  facts("model-card", [
    ["Model", meta.name || (meta.uri === "the bundled model" ? "the bundled model" : "not registered")],
    ["Version", meta.version || "–"],
    ["Stage or alias", stage || "–"],
    ["Trained", trained || "–", meta.trained_at ? String(meta.trained_at) : ""],
    ["Run id", meta.run_id || "–"],
    ["Source", meta.uri || "–"],
    ["Flavor", meta.flavor || "–"],
    ...(meta.sklearn
      ? [
          ["Estimator", meta.sklearn.estimator],
          ["scikit-learn", meta.sklearn.sklearn_version || "–"],
          ["Serialization", meta.sklearn.serialization_format],
        ]
      : []),
    ["Trees", card.n_trees != null ? `${card.n_trees} decision trees; the chance is the share of their votes` +
      (card.calibrated ? ", calibrated to match how often such shares were right" : "") : "–"],
    ["Decision line", typeof card.decision_threshold === "number"
      ? `Legendary when the chance is above ${pct(card.decision_threshold)}` : "–"],
  ]);
  showQuality(card.metrics || {});
  drawImportance(card.feature_importance && card.feature_importance.permutation);
  setThreshold(card.decision_threshold);
}

/** The held-out and cross-validation metrics, each said as what it means. */
function showQuality(metrics) {
  const hold = metrics.holdout || {};
  const cv = (metrics.cross_validation && metrics.cross_validation.summary) || {};
  const folds = metrics.cross_validation && metrics.cross_validation.folds;
  const cm = Array.isArray(hold.confusion_matrix) ? hold.confusion_matrix : null;
  // [[ordinary called ordinary, ordinary called legendary], [legendary missed, legendary found]]
  const [[, falseAlarms], [missed, found]] = cm || [[0, 0], [0, 0]];
  const legendaries = found + missed;
  const rows = [];
  if (typeof hold.rows === "number") {
    rows.push(["Tested on", `${hold.rows} Pokémon kept out of training${cm ? ` (${legendaries} of them legendary)` : ""}`]);
  }
  rows.push(
    ["Finds legendaries (recall)", `${pct(hold.recall)}${cm ? `: ${found} of the ${legendaries} legendaries` : ""}`],
    ["When it says legendary (precision)", `right ${pct(hold.precision)} of the time${cm ? `: ${found} of ${found + falseAlarms}` : ""}`],
    ["Right overall (accuracy)", `${pct(hold.accuracy)} of the test Pokémon`],
    ["Tells them apart (ROC AUC)", `${fixed(hold.roc_auc)}: a random legendary gets a higher chance than a random ordinary Pokémon ${pct(hold.roc_auc, 1)} of the time (1 is perfect, 0.5 is guessing)`],
    ["Recall and precision together (F1)", `${fixed(hold.f1, 2)} (1 is perfect)`],
  );
  if (typeof cv.recall_mean === "number" || typeof cv.accuracy_mean === "number") {
    rows.push([`On ${folds || "several"} other splits (cross-validation)`,
      `finds ${pct(cv.recall_mean)} of legendaries, right ${pct(cv.accuracy_mean)} overall, ROC AUC ${fixed(cv.roc_auc_mean)} on average`]);
  }
  facts("model-quality", rows);
}

/** One bar per stat: how many points of ROC AUC (out of 100) shuffling it costs. */
function drawImportance(items) {
  const box = $("importance");
  if (!Array.isArray(items) || items.length === 0) {
    box.replaceChildren(hint("This model has no permutation importances."));
    return;
  }
  const sorted = [...items].sort((a, b) => b.mean - a.mean);
  const hi = Math.max(1e-9, ...sorted.map((d) => d.mean));
  const list = el("div", "bar-list");
  list.id = "importance-chart";
  list.setAttribute("role", "list");
  list.setAttribute("aria-labelledby", "importance-title");
  for (const d of sorted) {
    const row = el("div", "bar-row");
    row.setAttribute("role", "listitem");
    const name = NAMES[d.feature] || d.feature;
    const track = el("span", "track");
    const bar = el("span", "bar");
    bar.style.width = `${Math.max(0, d.mean / hi) * 100}%`;
    track.append(bar);
    const cost = (d.mean * 100).toFixed(1);
    row.append(el("span", "name", name), track, el("span", "value", `${cost} pts`));
    row.title = `Shuffling ${name} costs ${cost} points of ROC AUC (± ${((d.std || 0) * 100).toFixed(1)})`;
    list.append(row);
  }
  box.replaceChildren(list);
}

async function loadModel() {
  try {
    showModel(await api("/model"));
  } catch (e) {
    facts("model-card", [["Status", e.message]]);
    facts("model-quality", [["Status", e.message]]);
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
        d.bytes === null || d.bytes === undefined ? "" : `${d.bytes} B`, d.owner, humanDate(d.created), d.location];
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

document.addEventListener("DOMContentLoaded", () => {
  wireDatasets();
  loadModel();
});
