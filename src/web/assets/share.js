// Sharing: the address bar holds the stats (/?hp=…&attack=…, history.replaceState), a link
// like that fills them in and answers on load, and "copy as curl" copies the page's exact
// request against this server.
"use strict";

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

