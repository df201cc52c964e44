// The dashboard's "Mux sessions" panel: one row per live multiplexed session from GET /sessions (chain, node,
// transport, streams open/total, bytes each way, last frame received, keep-alive, age) and the sessions ended so
// far by reason. `sessionRows` is the data path (no DOM), `renderSessions` draws it. It imports nothing that reads
// the page at load, so tests import it outside a browser.

import { formatBytes, formatCount, formatDuration } from "./format.js";
import { drawRows } from "./row_table.js";

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
 * Draws the panel (table `#sessions`, `#sessions-empty`, `#sessions-ended`) from GET /sessions' `data`.
 * @param {any} data
 * @param {number} now epoch ms
 */
export function renderSessions(data, now) {
  const { rows, ended } = sessionRows(data, now);
  const endedLine = document.getElementById("sessions-ended");
  if (endedLine.textContent !== ended) endedLine.textContent = ended;
  const table = /** @type {HTMLTableElement} */ (document.getElementById("sessions"));
  shownKey = drawRows(table, "sessions-empty", rows, "session", shownKey);
}
