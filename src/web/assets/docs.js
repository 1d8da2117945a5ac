// The API explorer at /docs: Swagger UI (vendored, see assets/vendor/swagger-ui/README.md)
// pointed at this server's /openapi.json, with "Try it out" on, so a reader can send a real
// request from the page. After each render a few accessibility gaps of Swagger UI's markup
// are filled (names for its icon-only buttons and unlabelled selects, keyboard access to its
// scrolling code boxes), so the page passes axe-core like the main page does. Deep links are
// off: Swagger UI puts them as links inside each operation's toggle button, which nests one
// control in another.
"use strict";

/** Gives controls that Swagger UI renders without an accessible name one from their context. */
function nameUnlabelledControls(root) {
  for (const select of root.querySelectorAll("select:not([aria-label])")) {
    const near = select.closest("[class*='content-type'], .response-control-media-type, .parameters-col_description, label");
    const text = near && near.previousElementSibling ? near.previousElementSibling.textContent.trim() : "";
    select.setAttribute("aria-label", text || (select.className.includes("content-type") ? "Media type" : "Choose a value"));
  }
  for (const button of root.querySelectorAll("button:not([aria-label])")) {
    if (button.textContent.trim()) continue;
    const block = button.closest(".opblock");
    const path = block && block.querySelector(".opblock-summary-path");
    const what = button.className.includes("copy") ? "Copy" : "Show or hide";
    button.setAttribute("aria-label", path ? `${what} ${path.textContent.trim()}` : what);
  }
  for (const box of root.querySelectorAll("pre:not([tabindex]), .microlight:not([tabindex])")) {
    box.setAttribute("tabindex", "0");
  }
  for (const input of root.querySelectorAll("input:not([aria-label]):not([id])")) {
    const row = input.closest("tr");
    const name = row && row.querySelector(".parameter__name");
    if (name) input.setAttribute("aria-label", name.textContent.replace("*", "").trim());
    else if (input.placeholder) input.setAttribute("aria-label", input.placeholder);
  }
}

function start() {
  const root = document.getElementById("swagger-ui");
  if (typeof window.SwaggerUIBundle !== "function") {
    root.textContent = "The API explorer did not load; the document is at /openapi.json.";
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    // No badge from the public validator: the page loads nothing from elsewhere (and its
    // Content-Security-Policy would refuse it).
    validatorUrl: null,
    dom_id: "#swagger-ui",
    deepLinking: false,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    filter: true,
    syntaxHighlight: { activated: true, theme: "idea" },
    onComplete: () => nameUnlabelledControls(root),
  });
  new MutationObserver(() => nameUnlabelledControls(root)).observe(root, { childList: true, subtree: true });
}

start();
