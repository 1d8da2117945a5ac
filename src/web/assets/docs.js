// Renders /openapi.json as readable sections: one per tag, one card per operation with its
// parameters, request bodies and responses. No framework and nothing fetched from elsewhere.
"use strict";

let spec = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function code(text) {
  return el("code", "", text);
}

/** Like `el`, with `backticked` spans of the text shown as code. */
function rich(tag, className, text) {
  const node = el(tag, className);
  String(text || "").split("`").forEach((part, i) => {
    if (part) node.append(i % 2 ? code(part) : document.createTextNode(part));
  });
  return node;
}

/** Follows `#/components/schemas/X` references. */
function resolve(schema) {
  let s = schema || {};
  for (let i = 0; i < 10 && s.$ref; i++) {
    const name = s.$ref.split("/").pop();
    s = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
  }
  return s;
}

/** A short type name: `number`, `string | null`, `array of Answer`, `one of A, B`. */
function typeName(schema) {
  if (!schema) return "any";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.oneOf) return "one of " + schema.oneOf.map(typeName).join(", ");
  if (schema.anyOf) return "any of " + schema.anyOf.map(typeName).join(", ");
  let t = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (!t) return "any";
  if (t.startsWith("array")) t = t.replace("array", `array of ${typeName(schema.items)}`);
  if (schema.format) t += ` (${schema.format})`;
  return t;
}

function limits(schema) {
  const parts = [];
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.example !== undefined) parts.push(`e.g. ${JSON.stringify(schema.example)}`);
  return parts.join(", ");
}

/** A table of an object schema's fields, or one line for anything else. */
function schemaBlock(schema) {
  const s = resolve(schema);
  const wrap = el("div", "scroll");
  const name = schema && schema.$ref ? schema.$ref.split("/").pop() : null;
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    const items = resolve(s.items);
    const nested = items.properties || items.oneOf;
    wrap.append(el("p", "", `A JSON list of ${typeName(s.items)}${nested ? ":" : "."}`));
    if (nested) wrap.append(schemaBlock(s.items));
    return wrap;
  }
  if (s.oneOf) {
    wrap.append(el("p", "", name ? `${name}: one of` : "One of"));
    s.oneOf.forEach((alt) => wrap.append(schemaBlock(alt)));
    return wrap;
  }
  if (!s.properties) {
    wrap.append(rich("p", "", `${name ? name + ": " : ""}${typeName(s)}${s.description ? " — " + s.description : ""}`));
    return wrap;
  }
  if (name) wrap.append(rich("p", "", `${name}${s.description ? " — " + s.description : ""}`));
  const table = el("table");
  const head = el("tr");
  ["Field", "Type", "Required", "Description"].forEach((h) => head.append(el("th", "", h)));
  table.append(head);
  const required = new Set(s.required || []);
  for (const [field, sub] of Object.entries(s.properties)) {
    const tr = el("tr");
    const c = el("td");
    c.append(code(field));
    const extra = limits(sub);
    tr.append(c, el("td", "", typeName(sub)), el("td", "", required.has(field) ? "yes" : "no"),
      rich("td", "", [sub.description || resolve(sub).description || "", extra].filter(Boolean).join(" ")));
    table.append(tr);
  }
  wrap.append(table);
  return wrap;
}

function parameters(op) {
  const box = el("div");
  box.append(el("h4", "", "Query parameters"));
  const table = el("table");
  const head = el("tr");
  ["Name", "Type", "Required", "Description"].forEach((h) => head.append(el("th", "", h)));
  table.append(head);
  for (const p of op.parameters) {
    const tr = el("tr");
    const c = el("td");
    c.append(code(p.name));
    const schema = p.schema || {};
    tr.append(c, el("td", "", typeName(schema)), el("td", "", p.required ? "yes" : "no"),
      rich("td", "", [p.description || "", limits(schema)].filter(Boolean).join(" ")));
    table.append(tr);
  }
  const scroll = el("div", "scroll");
  scroll.append(table);
  box.append(scroll);
  return box;
}

function content(title, body) {
  const box = el("div");
  box.append(el("h4", "", title));
  for (const [type, media] of Object.entries(body.content || {})) {
    const p = el("p");
    p.append(code(type));
    box.append(p, schemaBlock(media.schema));
  }
  return box;
}

function operation(path, method, op) {
  const card = el("section", "op");
  card.id = `${method}-${path}`;
  const h = el("h3");
  h.append(el("span", `method ${method}`, method), code(path));
  card.append(h);
  if (op.summary) card.append(rich("p", "", op.summary));
  if (op.description && op.description !== op.summary) card.append(rich("p", "hint", op.description));
  if (op.parameters && op.parameters.length) card.append(parameters(op));
  if (op.requestBody) card.append(content("Request body", op.requestBody));
  card.append(el("h4", "", "Responses"));
  for (const [status, response] of Object.entries(op.responses || {})) {
    const r = el("div");
    const line = rich("p", "", ` ${response.description || ""}`);
    line.prepend(el("strong", "", status));
    r.append(line);
    for (const [type, media] of Object.entries(response.content || {})) {
      const p = el("p", "hint");
      p.append(code(type));
      r.append(p);
      if (status.startsWith("2")) r.append(schemaBlock(media.schema));
    }
    card.append(r);
  }
  return card;
}

function render() {
  document.title = `${spec.info.title} ${spec.info.version} API`;
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version} API`;
  const doc = document.getElementById("doc");
  const intro = rich("p", "", spec.info.description || "");
  const sections = [intro];
  const tags = (spec.tags || []).map((t) => t.name);
  const byTag = new Map(tags.map((t) => [t, []]));
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ["get", "post", "put", "delete", "patch"]) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, method, op));
    }
  }
  for (const [tag, ops] of byTag) {
    if (!ops.length) continue;
    const section = el("section");
    section.append(el("h2", "", tag));
    const t = (spec.tags || []).find((x) => x.name === tag);
    if (t && t.description) section.append(rich("p", "tag-desc", t.description));
    section.append(...ops);
    sections.push(section);
  }
  doc.replaceChildren(...sections);
}

fetch("/openapi.json")
  .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
  .then((json) => { spec = json; render(); })
  .catch((e) => {
    document.getElementById("doc").replaceChildren(el("p", "error", `Could not load /openapi.json: ${e.message}`));
  });
