// The gost.ts dashboard: polls GET /config every second and shows every service live (state, events, connections,
// bytes, a throughput graph from successive polls) and every chain; creates, edits and deletes them through the
// Web API; shows API errors as sent; asks for the API's Basic credentials when it answers 401.

import { api, clearCredentials, hasCredentials, setCredentials } from "./api.js";
import { openEditor } from "./editor.js";
import { formatBytes, formatClock, formatCount, formatDuration, formatRate, formatTime } from "./format.js";
import { ThroughputGraph, WINDOW_S } from "./graph.js";
import { renderSessions } from "./sessions.js";
import { renderTunnels } from "./tunnels.js";
import { $, h, hideError, setText, showError, toast } from "./ui.js";

const POLL_MS = 1000;
const STATS = ["currentConns", "totalConns", "totalErrs", "inputBytes", "outputBytes"];
const STAT_LABELS = {
  currentConns: "Open conns",
  totalConns: "Total conns",
  totalErrs: "Errors",
  inputBytes: "In (from clients)",
  outputBytes: "Out (to clients)",
};
const STATES = new Set(["running", "ready", "failed", "closed"]);

/** @type {any} the last GET /config answer */
let config = {};
/** @type {Map<string, any>} per service: card elements, graph, last counters, rate history */
const cards = new Map();
const totalHistory = [];
const totalGraph = new ThroughputGraph($("total-graph"), "Throughput of all services", 80);
let pollTimer = 0;
let pollSeq = 0;
let shownSeq = 0;
let cardSeq = 0;
let loaded = false;
let offline = false;
let chainsKey = "";

// ---- polling ----

async function poll() {
  clearTimeout(pollTimer);
  const mine = ++pollSeq;
  try {
    const answer = (await api("GET", "/config")) ?? {};
    if (mine < shownSeq) return; // a newer answer is already shown, and its poll schedules the next
    shownSeq = mine;
    config = answer;
    render(Date.now());
    if (!loaded || offline) hideError($("banner"));
    loaded = true;
    offline = false;
    setLive("live", `Live · ${formatClock(Math.floor(Date.now() / 1000))}`);
    showSections(true);
    await pollSessions(mine);
    await pollTunnels(mine);
  } catch (err) {
    if (err.status === 401) {
      showLogin(hasCredentials() ? err : null);
      return;
    }
    if (!offline) showError($("banner"), err);
    offline = true;
    setLive("offline", err.status === 0 ? "Offline: retrying" : `Error ${err.code}: retrying`);
  }
  clearTimeout(pollTimer); // one loop, even when a save polled while another poll was in flight
  pollTimer = setTimeout(poll, POLL_MS);
}

/** GET /sessions into the "Mux sessions" panel (an error there leaves the rest of the page live). */
async function pollSessions(mine) {
  try {
    const answer = await api("GET", "/sessions");
    if (mine >= shownSeq) renderSessions(answer?.data ?? {}, Date.now());
  } catch {
    $("sessions-section").hidden = true;
  }
}

/** GET /tunnels into the "Tunnels" panel, shown while a tunnel server runs (an error hides it). */
async function pollTunnels(mine) {
  try {
    const answer = await api("GET", "/tunnels");
    if (mine >= shownSeq) renderTunnels(answer?.data ?? {});
  } catch {
    $("tunnels-section").hidden = true;
  }
}

function setLive(kind, textContent) {
  const live = $("live");
  live.className = `live live-${kind}`;
  setText(live, textContent);
}

function showSections(on) {
  for (const id of ["overview", "services-section", "chains-section", "sessions-section"]) $(id).hidden = !on;
  if (!on) $("tunnels-section").hidden = true; // shown by renderTunnels while a tunnel server runs
  $("login").hidden = true;
  $("sign-out").hidden = !hasCredentials();
  for (const id of ["new-service", "new-chain", "view-config"]) /** @type {HTMLButtonElement} */ ($(id)).disabled = !on;
}

// ---- login (the API answered 401) ----

function showLogin(err) {
  clearTimeout(pollTimer);
  showSections(false);
  $("login").hidden = false;
  setLive("auth", "Sign-in needed");
  const box = $("login-form").querySelector(".error-banner");
  if (err) showError(box, err);
  else hideError(box);
  $("login-user").focus();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = $("login-form").querySelector(".error-banner");
  setCredentials(/** @type {HTMLInputElement} */ ($("login-user")).value, $("login-pass").value);
  try {
    await api("GET", "/config/services");
  } catch (err) {
    showError(box, err);
    if (err.status === 401) clearCredentials();
    return;
  }
  hideError(box);
  /** @type {HTMLInputElement} */ ($("login-pass")).value = "";
  poll();
});

$("sign-out").addEventListener("click", () => {
  clearCredentials();
  poll();
});

// ---- rendering ----

function render(now) {
  const services = Array.isArray(config.services) ? config.services : [];
  const seen = new Set();
  let totalIn = 0, totalOut = 0, conns = 0, ready = 0, sampled = false;
  const list = $("services");
  services.forEach((svc, i) => {
    seen.add(svc.name);
    let c = cards.get(svc.name);
    if (!c) {
      c = buildCard(svc.name);
      cards.set(svc.name, c);
    }
    if (list.children[i] !== c.card) list.insertBefore(c.card, list.children[i] ?? null);
    const rate = updateCard(c, svc, now);
    if (rate) {
      totalIn += rate.in;
      totalOut += rate.out;
      sampled = true;
    }
    conns += svc.status?.stats?.currentConns ?? 0;
    if (svc.status?.state === "ready") ready++;
  });
  for (const [name, c] of cards) {
    if (!seen.has(name)) {
      c.card.remove();
      cards.delete(name);
    }
  }
  $("services-empty").hidden = services.length > 0;
  setText($("total-services"), formatCount(services.length));
  setText($("total-ready"), formatCount(ready));
  setText($("total-conns"), formatCount(conns));
  if (sampled) pushSample(totalHistory, { t: now, in: totalIn, out: totalOut });
  setText($("total-in"), formatRate(sampled ? totalIn : 0));
  setText($("total-out"), formatRate(sampled ? totalOut : 0));
  totalGraph.draw(totalHistory, now);
  renderChains(Array.isArray(config.chains) ? config.chains : []);
}

function pushSample(history, sample) {
  history.push(sample);
  while (history.length && history[0].t < sample.t - (WINDOW_S + 2) * 1000) history.shift();
}

function buildCard(name) {
  const id = `svc-${++cardSeq}-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const f = {};
  const stat = (key) =>
    h(
      "div",
      {},
      h("dt", {}, STAT_LABELS[key]),
      f[key] = h("dd", { "data-stat": key, "data-value": "0" }, "0"),
    );
  const card = h(
    "article",
    { class: "svc card", "data-name": name, "aria-labelledby": id },
    h(
      "header",
      { class: "svc-head" },
      h("h3", { id, class: "svc-name" }, name),
      f.state = h("span", { class: "state", "data-field": "state" }),
      f.types = h("span", { class: "svc-types", "data-field": "types" }),
      f.addr = h("code", { class: "svc-addr", "data-field": "addr" }),
      h(
        "span",
        { class: "svc-actions" },
        h("button", { type: "button", "aria-label": `Edit service ${name}`, onclick: () => editService(name) }, "Edit"),
        h("button", {
          type: "button",
          class: "danger",
          "aria-label": `Delete service ${name}`,
          onclick: () => confirmDelete("services", name),
        }, "Delete"),
      ),
    ),
    f.statsBox = h("div", { class: "svc-stats" }, h("dl", { class: "stats" }, ...STATS.map(stat))),
    f.ratesBox = h(
      "p",
      { class: "rates" },
      h("span", { class: "in" }, "▼ in ", f.rateIn = h("strong", { "data-rate": "in" }, "0 B/s")),
      h("span", { class: "out" }, "▲ out ", f.rateOut = h("strong", { "data-rate": "out" }, "0 B/s")),
    ),
    f.graphHost = h("div", { class: "graph" }),
    f.noStats = h(
      "p",
      { class: "no-stats" },
      "Stats are off for this service: set ",
      h("code", {}, "metadata.enableStats: true"),
      ".",
    ),
    f.meta = h("p", { class: "svc-meta", "data-field": "created" }),
    f.events = h(
      "details",
      { class: "events" },
      f.eventsSummary = h("summary", {}, "Events"),
      f.eventsList = h("ol", { class: "event-list" }),
    ),
  );
  const graph = new ThroughputGraph(f.graphHost, `Throughput of service ${name}`);
  return { card, f, graph, last: null, history: [], eventsKey: "" };
}

/** Updates one card; returns this poll's rates when the service has stats and a previous sample. */
function updateCard(c, svc, now) {
  const { f } = c;
  const st = svc.status ?? {};
  const state = STATES.has(st.state) ? st.state : "unknown";
  f.state.className = `state state-${state}`;
  setText(f.state, st.state ?? "unknown");
  c.card.dataset.state = state;
  const handler = svc.handler?.type ?? "?";
  const listener = svc.listener?.type ?? "tcp";
  setText(f.types, `${handler} · ${listener}`);
  setText(f.addr, svc.addr ?? "");
  const created = st.createTime ?? 0;
  setText(f.meta, created ? `Created ${formatTime(created)} · up ${formatDuration(now / 1000 - created)}` : "");

  const stats = st.stats;
  f.statsBox.hidden = !stats;
  f.ratesBox.hidden = !stats;
  f.graphHost.hidden = !stats;
  f.noStats.hidden = Boolean(stats);
  let rate = null;
  if (stats) {
    for (const key of STATS) {
      const v = Number(stats[key] ?? 0);
      f[key].dataset.value = String(v);
      setText(f[key], key.endsWith("Bytes") ? formatBytes(v) : formatCount(v));
      if (key.endsWith("Bytes")) f[key].title = `${formatCount(v)} bytes`;
    }
    const cur = { t: now, in: Number(stats.inputBytes ?? 0), out: Number(stats.outputBytes ?? 0), created };
    const prev = c.last;
    if (prev && prev.created !== created) c.history.length = 0;
    if (prev && prev.created === created && cur.in >= prev.in && cur.out >= prev.out && now > prev.t) {
      const dt = (now - prev.t) / 1000;
      rate = { t: now, in: (cur.in - prev.in) / dt, out: (cur.out - prev.out) / dt };
      pushSample(c.history, rate);
    } else if (cur.in === 0 && cur.out === 0) {
      // first seen (or restarted) with no bytes yet: the rate so far is known to be zero
      rate = { t: now, in: 0, out: 0 };
      pushSample(c.history, rate);
    }
    c.last = cur;
    setText(f.rateIn, formatRate(rate?.in ?? 0));
    setText(f.rateOut, formatRate(rate?.out ?? 0));
    f.rateIn.dataset.value = String(Math.round(rate?.in ?? 0));
    f.rateOut.dataset.value = String(Math.round(rate?.out ?? 0));
    c.graph.draw(c.history, now);
  } else {
    c.last = null;
    c.history.length = 0;
  }
  renderEvents(c, Array.isArray(st.events) ? st.events : []);
  return rate;
}

function renderEvents(c, events) {
  const last = events[events.length - 1];
  const key = `${events.length}|${last?.time}|${last?.msg}`;
  if (key === c.eventsKey) return;
  c.eventsKey = key;
  c.f.eventsSummary.replaceChildren(
    h("span", {}, `Events (${events.length})`),
    last ? h("span", { class: "event-last" }, `${formatClock(last.time)} ${last.msg}`) : "",
  );
  c.f.eventsList.replaceChildren(
    ...events.slice().reverse().map((e) =>
      h("li", {}, h("time", { datetime: new Date(e.time * 1000).toISOString() }, formatClock(e.time)), " ", e.msg)
    ),
  );
}

function renderChains(chains) {
  const key = JSON.stringify(chains);
  if (key === chainsKey) return;
  chainsKey = key;
  const table = $("chains");
  table.hidden = chains.length === 0;
  $("chains-empty").hidden = chains.length > 0;
  table.tBodies[0].replaceChildren(
    ...chains.map((ch) => {
      const hops = Array.isArray(ch.hops) ? ch.hops : [];
      const nodes = hops.flatMap((hop) => (Array.isArray(hop.nodes) ? hop.nodes : []).map((n) => n.addr ?? "?"));
      return h(
        "tr",
        { "data-name": ch.name },
        h("th", { scope: "row" }, ch.name),
        h("td", {}, hops.map((hop) => hop.name ?? "?").join(" → ") || "–"),
        h("td", {}, nodes.join(", ") || "–"),
        h(
          "td",
          { class: "row-actions" },
          h(
            "button",
            { type: "button", "aria-label": `Edit chain ${ch.name}`, onclick: () => editChain(ch.name) },
            "Edit",
          ),
          h("button", {
            type: "button",
            class: "danger",
            "aria-label": `Delete chain ${ch.name}`,
            onclick: () => confirmDelete("chains", ch.name),
          }, "Delete"),
        ),
      );
    }),
  );
}

// ---- actions ----

const chainNames = () => (Array.isArray(config.chains) ? config.chains : []).map((c) => c.name);

function saved(msg) {
  toast(msg);
  poll();
}

function editService(name) {
  const obj = (config.services ?? []).find((s) => s.name === name);
  openEditor({ kind: "services", name, obj, chains: chainNames(), onSaved: saved });
}

function editChain(name) {
  const obj = (config.chains ?? []).find((s) => s.name === name);
  openEditor({ kind: "chains", name, obj, onSaved: saved });
}

let pendingDelete = null;

function confirmDelete(kind, name) {
  const noun = kind === "services" ? "service" : "chain";
  pendingDelete = { kind, name, noun };
  $("confirm-title").textContent = `Delete ${noun} ${name}?`;
  $("confirm-text").textContent = kind === "services"
    ? `Its listener closes and its open connections end. This cannot be undone.`
    : `Services that use it will fail to connect through it. This cannot be undone.`;
  hideError($("confirm").querySelector(".error-banner"));
  /** @type {HTMLDialogElement} */ ($("confirm")).showModal();
  $("confirm-cancel").focus();
}

$("confirm-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!pendingDelete) return;
  const { kind, name, noun } = pendingDelete;
  const ok = /** @type {HTMLButtonElement} */ ($("confirm-ok"));
  ok.disabled = true;
  try {
    await api("DELETE", `/config/${kind}/${encodeURIComponent(name)}`);
    /** @type {HTMLDialogElement} */ ($("confirm")).close();
    pendingDelete = null;
    saved(`${noun[0].toUpperCase()}${noun.slice(1)} ${name} deleted`);
  } catch (err) {
    showError($("confirm").querySelector(".error-banner"), err);
  } finally {
    ok.disabled = false;
  }
});
$("confirm-cancel").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("confirm")).close());

$("new-service").addEventListener(
  "click",
  () => openEditor({ kind: "services", chains: chainNames(), onSaved: saved }),
);
$("new-chain").addEventListener("click", () => openEditor({ kind: "chains", onSaved: saved }));

$("view-config").addEventListener("click", async () => {
  try {
    $("config-text").textContent = await api("GET", "/config?format=yaml", { raw: true });
    /** @type {HTMLDialogElement} */ ($("config-view")).showModal();
  } catch (err) {
    showError($("banner"), err);
  }
});
$("config-close").addEventListener("click", () => /** @type {HTMLDialogElement} */ ($("config-view")).close());

// ---- start ----

showSections(false);
$("login").hidden = true;
poll();
