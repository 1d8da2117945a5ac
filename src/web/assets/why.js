// The answer and its why: the verdict (with the borderline band near the decision line), the
// probability bar with the band and the line marked, the top reason in words, and the
// waterfall from the average Pokémon's share of the trees' votes through each stat's Shapley
// push to this one's (and, for a calibrated model, the chance those votes are read as).
"use strict";

/** Answers this close to the decision line (in probability) are called borderline. */
const BORDERLINE = 0.10;
/** The model's decision line, from GET /model (card.js); 0.5 until it is known. */
let threshold = 0.5;

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

/**
 * The waterfall: the average Pokémon's votes, each stat's push in size order, this answer's
 * votes. The pushes explain the share of the trees' votes; a calibrated model reads that
 * share as a chance through its calibration map, shown as a last row, and only that row is
 * on the scale of the decision line.
 */
function showWhy(answer, list) {
  const why = $("why");
  if (!list) {
    why.hidden = true;
    return;
  }
  const base = answer.base_value;
  const votes = typeof answer.vote_fraction === "number" ? answer.vote_fraction : answer.probability;
  const calibrated = votes !== answer.probability;
  const unit = calibrated ? " of the trees' votes" : "";
  $("why-intro").textContent = `An average Pokémon gets ${percent(base)}${unit}. ` +
    `${list.slice(0, 3).map(reason).join("; ")}. Together the six stats take it to ${percent(votes)}${unit}` +
    (calibrated ? `, which the model's calibration reads as a ${percent(answer.probability)} chance.` : ".");
  const scale = (x) => `${Math.min(100, Math.max(0, x * 100))}%`;
  const row = (name, cls, from, to, value, decisionLine = !calibrated) => {
    const r = el("div", `step ${cls}`);
    r.setAttribute("role", "listitem");
    const track = el("span", "track");
    const bar = el("span", "bar");
    bar.style.left = scale(Math.min(from, to));
    bar.style.width = `max(3px, ${scale(Math.abs(to - from))})`;
    if (decisionLine) {
      const line = el("span", "line");
      line.style.left = scale(threshold);
      track.append(line);
    }
    track.append(bar);
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
  const total = el("span", "value", percent(votes));
  total.id = "why-total";
  total.dataset.value = String(votes);
  rows.push(row("This Pokémon", "end", 0, votes, total));
  if (calibrated) {
    const chance = el("span", "value", percent(answer.probability));
    chance.id = "why-chance";
    chance.dataset.value = String(answer.probability);
    rows.push(row("Calibrated chance", "end", 0, answer.probability, chance, true));
  }
  $("why-chart").replaceChildren(...rows);
  why.hidden = false;
}

