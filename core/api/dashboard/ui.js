// Small DOM helpers of the dashboard: element lookup and creation, the error banners and the toast.

import { ApiError } from "./api.js";

/**
 * The element with this id.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard: no element #${id}`);
  return e;
}

/**
 * Creates an element: `h("button", { class: "danger", type: "button" }, "Delete")`. Attributes with the value
 * `false`, `null` or `undefined` are left out; `on*` functions become event listeners; children are nodes or text.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/**
 * Sets an element's text only when it changed (no needless DOM writes on every poll).
 * @param {HTMLElement} e
 * @param {string} text
 */
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

/**
 * Shows an error plainly in a banner (`role="alert"`): the API's code and `msg` as sent, and the request.
 * @param {HTMLElement} box an `.error-banner`
 * @param {unknown} err an ApiError, another Error, or text
 */
export function showError(box, err) {
  const msg = err instanceof Error ? err.message : String(err);
  let title = "Error";
  let detail = "";
  if (err instanceof ApiError) {
    title = err.status === 0 ? "Network error" : `Error ${err.code}`;
    detail = err.status === 0 ? err.request : `HTTP ${err.status} · ${err.request}`;
  }
  box.replaceChildren(
    h("strong", { class: "error-title" }, title),
    h("span", { class: "error-msg" }, msg),
    detail ? h("small", { class: "error-detail" }, detail) : null,
    h("button", {
      type: "button",
      class: "dismiss",
      "aria-label": "Dismiss error",
      onclick: () => hideError(box),
    }, "×"),
  );
  box.dataset.code = err instanceof ApiError ? String(err.code) : "";
  box.hidden = false;
}

/**
 * Hides a banner.
 * @param {HTMLElement} box
 */
export function hideError(box) {
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.code;
}

let toastTimer = 0;

/**
 * Shows a short confirmation ("Service web created") for a few seconds.
 * @param {string} text
 */
export function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.hidden = true, 3500);
}
