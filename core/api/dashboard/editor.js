// The editor dialog: create or edit a service or a chain as a form (the common fields), as YAML or as JSON.
// One object is the truth; switching tabs reads the current view into it and writes the next view from it, so fields
// the form does not show are kept. YAML is parsed and written by the API's dashboard routes (the same YAML library
// as config files), so the page carries no parser.

import { api } from "./api.js";
import { nodeLine, parseNodeLines } from "./nodes.js";
import { $, hideError, showError } from "./ui.js";

const dlg = $("editor");
const form = $("editor-form");
const errBox = dlg.querySelector(".error-banner");
const text = $("editor-text");
const saveBtn = $("editor-save");
const tabs = [...dlg.querySelectorAll('[role="tab"]')];

/** @type {{kind: string, editing: string|null, mode: string, obj: any, onSaved: (msg: string) => void}} */
let state = { kind: "services", editing: null, mode: "form", obj: {}, onSaved: () => {} };

const NOUN = { services: "service", chains: "chain" };

function defaults(kind) {
  return kind === "services"
    ? { name: "", addr: "", handler: { type: "http" }, listener: { type: "tcp" } }
    : { name: "", hops: [{ name: "hop-0", nodes: [] }] };
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const val = (id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
const lines = (id) => val(id).split("\n").map((l) => l.trim()).filter(Boolean);
const keyOf = (obj, key) =>
  isObject(obj) ? Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase()) : undefined;

function setVal(id, v) {
  /** @type {HTMLInputElement} */ ($(id)).value = v ?? "";
}

// ---- services ----

function writeServiceForm(o) {
  setVal("f-name", o.name);
  setVal("f-addr", o.addr);
  setVal("f-handler", o.handler?.type);
  setVal("f-listener", o.listener?.type);
  const chain = /** @type {HTMLSelectElement} */ ($("f-chain"));
  const want = o.handler?.chain ?? "";
  if (want && ![...chain.options].some((opt) => opt.value === want)) chain.add(new Option(want, want));
  chain.value = want;
  setVal("f-user", o.handler?.auth?.username);
  setVal("f-pass", o.handler?.auth?.password);
  setVal("f-targets", (o.forwarder?.nodes ?? []).map((n) => n.addr).join("\n"));
  const k = keyOf(o.metadata, "enableStats");
  /** @type {HTMLInputElement} */ ($("f-stats")).checked = k !== undefined && String(o.metadata[k]) === "true";
}

function readServiceForm(base) {
  const o = structuredClone(base);
  o.name = val("f-name");
  o.addr = val("f-addr");
  o.handler = { ...(isObject(o.handler) ? o.handler : {}), type: val("f-handler") };
  const chain = val("f-chain");
  if (chain) o.handler.chain = chain;
  else delete o.handler.chain;
  const user = val("f-user");
  if (user) {
    o.handler.auth = {
      ...(o.handler.auth ?? {}),
      username: user,
      password: /** @type {HTMLInputElement} */ ($("f-pass")).value,
    };
  } else if (o.handler.auth && !o.handler.auth.file) delete o.handler.auth;
  o.listener = { ...(isObject(o.listener) ? o.listener : {}), type: val("f-listener") || "tcp" };
  const targets = lines("f-targets");
  if (targets.length) {
    const old = new Map((o.forwarder?.nodes ?? []).map((n) => [n.addr, n]));
    const used = new Set();
    const nodes = targets.map((addr, i) => {
      const node = old.get(addr) ? { ...old.get(addr) } : { name: "", addr };
      let name = node.name || `target-${i}`;
      for (let j = i; used.has(name); j++) name = `target-${j + 1}`;
      used.add(name);
      return { ...node, name };
    });
    o.forwarder = { ...(isObject(o.forwarder) ? o.forwarder : {}), nodes };
  } else if (isObject(o.forwarder)) {
    delete o.forwarder.nodes;
    if (!Object.keys(o.forwarder).length) delete o.forwarder;
  }
  const k = keyOf(o.metadata, "enableStats");
  const on = k !== undefined && String(o.metadata[k]) === "true";
  if (/** @type {HTMLInputElement} */ ($("f-stats")).checked) {
    if (!on) o.metadata = { ...(isObject(o.metadata) ? o.metadata : {}), [k ?? "enableStats"]: true };
  } else if (k !== undefined) {
    delete o.metadata[k];
    if (!Object.keys(o.metadata).length) delete o.metadata;
  }
  return o;
}

// ---- chains: the first hop, one node per line (nodes.js) ----

function writeChainForm(o) {
  setVal("c-name", o.name);
  setVal("c-nodes", (o.hops?.[0]?.nodes ?? []).map(nodeLine).join("\n"));
}

function readChainForm(base) {
  const o = structuredClone(base);
  o.name = val("c-name");
  const hops = Array.isArray(o.hops) ? o.hops : [];
  const hop = isObject(hops[0]) ? hops[0] : { name: "hop-0" };
  const old = Array.isArray(hop.nodes) ? hop.nodes : [];
  hop.nodes = parseNodeLines(lines("c-nodes"), old);
  o.hops = [hop, ...hops.slice(1)];
  return o;
}

// ---- views ----

async function toText(mode, obj) {
  if (mode === "json") return JSON.stringify(obj, null, 2);
  return (await api("POST", "/ui/yaml/stringify", { json: obj })).data;
}

async function fromText(mode, src) {
  let v;
  if (mode === "json") {
    try {
      v = JSON.parse(src);
    } catch (err) {
      throw new Error(`Invalid JSON: ${err.message}`);
    }
  } else v = (await api("POST", "/ui/yaml/parse", { text: src })).data;
  if (!isObject(v)) throw new Error(`The ${mode.toUpperCase()} must be one object (a mapping of keys)`);
  return v;
}

async function readView() {
  if (state.mode !== "form") return await fromText(state.mode, text.value);
  return state.kind === "services" ? readServiceForm(state.obj) : readChainForm(state.obj);
}

async function writeView(mode, obj) {
  if (mode === "form") {
    if (state.kind === "services") writeServiceForm(obj);
    else writeChainForm(obj);
  } else text.value = await toText(mode, obj);
  $("panel-form").hidden = mode !== "form";
  $("panel-text").hidden = mode === "form";
  const noun = NOUN[state.kind];
  $("editor-text-label").textContent = `${noun[0].toUpperCase()}${noun.slice(1)} as ${mode.toUpperCase()}`;
  for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.mode === mode));
  if (mode !== "form") $("panel-text").setAttribute("aria-labelledby", `tab-${mode}`);
  state.mode = mode;
  state.obj = obj;
}

async function switchTo(mode) {
  if (mode === state.mode) return;
  try {
    await writeView(mode, await readView());
    hideError(errBox);
  } catch (err) {
    showError(errBox, err);
  }
}

/** Tells whether the form can show this object (a chain with more than one hop cannot). */
function formFits(kind, obj) {
  return kind === "services" || !Array.isArray(obj.hops) || obj.hops.length <= 1;
}

/**
 * Opens the editor.
 * @param {{kind: "services"|"chains", name?: string, obj?: any, chains?: string[], onSaved: (msg: string) => void}} o
 *   `name` and `obj` to edit an existing object; `chains` fills the service form's chain list
 */
export async function openEditor(o) {
  const obj = structuredClone(o.obj ?? defaults(o.kind));
  delete obj.status;
  state = { kind: o.kind, editing: o.name ?? null, mode: "", obj, onSaved: o.onSaved };
  const noun = NOUN[o.kind];
  $("editor-title").textContent = o.name ? `Edit ${noun} ${o.name}` : `New ${noun}`;
  saveBtn.textContent = o.name ? "Save" : "Create";
  $("service-fields").hidden = o.kind !== "services";
  $("chain-fields").hidden = o.kind !== "chains";
  for (const id of ["f-name", "c-name"]) /** @type {HTMLInputElement} */ ($(id)).readOnly = Boolean(o.name);
  const chain = /** @type {HTMLSelectElement} */ ($("f-chain"));
  chain.replaceChildren(new Option("(none: connect directly)", ""), ...(o.chains ?? []).map((c) => new Option(c, c)));
  const fits = formFits(o.kind, obj);
  $("tab-form").disabled = !fits;
  $("form-hint").textContent = "Other fields are kept as they are: edit them as YAML or JSON.";
  hideError(errBox);
  try {
    await writeView(fits ? "form" : "yaml", obj);
  } catch (err) {
    await writeView("json", obj);
    showError(errBox, err);
  }
  if (!dlg.open) dlg.showModal();
  const first = state.mode !== "form" ? text : $(o.kind === "services" ? (o.name ? "f-addr" : "f-name") : "c-nodes");
  first.focus();
}

for (const t of tabs) t.addEventListener("click", () => switchTo(t.dataset.mode));
$("editor-cancel").addEventListener("click", () => dlg.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  saveBtn.disabled = true;
  try {
    const obj = await readView();
    state.obj = obj;
    const { kind, editing } = state;
    if (editing) await api("PUT", `/config/${kind}/${encodeURIComponent(editing)}`, { json: obj });
    else await api("POST", `/config/${kind}`, { json: obj });
    hideError(errBox);
    dlg.close();
    const noun = NOUN[kind];
    state.onSaved(`${noun[0].toUpperCase()}${noun.slice(1)} ${editing ?? obj.name} ${editing ? "saved" : "created"}`);
  } catch (err) {
    showError(errBox, err);
  } finally {
    saveBtn.disabled = false;
  }
});
