// The dashboard's "Mux sessions" panel: one row per live multiplexed session from GET /sessions (chain, node,
// transport, streams open/total, bytes each way, last frame received, keep-alive, age) and the sessions ended so
// far by reason. `sessionRows` is the data path (no DOM), `renderSessions` draws it. It imports nothing that reads
// the page at load, so tests import it outside a browser.

import { formatBytes, formatCount, formatDuration } from "./format.js";

/** Column headers, in the order of the cells `sessionRows` returns. */
export const SESSION_COLUMNS = [
  "Chain",
  "Node",
  "Transport",
  "Streams (open / total)",
  "In",
  "Out",
  "Last received",
  "Keep-alive",
  "Age",
];

/**
 * Seconds since `t` (epoch ms) as "3s ago", "–" for none.
 * @param {number|null|undefined} t
 * @param {number} now epoch ms
 */
function ago(t, now) {
  return typeof t === "number" && t > 0 ? `${formatDuration(Math.max(0, now - t) / 1000)} ago` : "–";
}

/**
 * The table's text: one array of cells per session, plus a line about ended sessions.
 * @param {{list?: any[], ended?: Record<string, Record<string, number>>}} data the `data` of GET /sessions
 * @param {number} now epoch ms
 * @returns {{rows: {key: string, cells: string[]}[], ended: string}}
 */
export function sessionRows(data, now) {
  const list = Array.isArray(data?.list) ? data.list : [];
  const rows = list.map((s) => ({
    key: `${s.chain}/${s.node}`,
    cells: [
      String(s.chain),
      `${s.node} (${s.addr})`,
      String(s.transport),
      `${formatCount(s.streamsOpen)} / ${formatCount(s.streamsTotal)}`,
      formatBytes(s.bytesIn),
      formatBytes(s.bytesOut),
      ago(s.lastReceivedAt, now),
      typeof s.keepaliveRttMs === "number"
        ? `RTT ${s.keepaliveRttMs} ms`
        : `peer ${ago(s.lastKeepaliveAt, now)}, timeout ${formatDuration(s.keepaliveTimeoutMs / 1000)}`,
      formatDuration(s.ageMs / 1000),
    ],
  }));
  const parts = [];
  for (const [chain, counts] of Object.entries(data?.ended ?? {})) {
    const by = Object.entries(counts).map(([reason, n]) => `${formatCount(n)} ${reason}`).join(", ");
    parts.push(`${chain}: ${by}`);
  }
  return { rows, ended: parts.length ? `Ended so far: ${parts.join("; ")}` : "" };
}

let shownKey = "";

/**
 * A table cell with `text`.
 * @param {"th"|"td"} tag
 * @param {string} text
 */
function cell(tag, text) {
  const e = document.createElement(tag);
  if (tag === "th") e.setAttribute("scope", "row");
  e.textContent = text;
  return e;
}

/**
 * Draws the panel (table `#sessions`, `#sessions-empty`, `#sessions-ended`) from GET /sessions' `data`.
 * @param {any} data
 * @param {number} now epoch ms
 */
export function renderSessions(data, now) {
  const { rows, ended } = sessionRows(data, now);
  const table = /** @type {HTMLTableElement} */ (document.getElementById("sessions"));
  table.hidden = rows.length === 0;
  document.getElementById("sessions-empty").hidden = rows.length > 0;
  const endedLine = document.getElementById("sessions-ended");
  if (endedLine.textContent !== ended) endedLine.textContent = ended;
  const key = JSON.stringify(rows);
  if (key === shownKey) return;
  shownKey = key;
  table.tBodies[0].replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.session = r.key;
      tr.append(cell("th", r.cells[0]), ...r.cells.slice(1).map((c) => cell("td", c)));
      return tr;
    }),
  );
}
