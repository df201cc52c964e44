// The dashboard's "Tunnels" panel: one row per reverse-proxy tunnel from GET /tunnels (server, tunnel id, clients
// with their network and weight, conns open/total, bytes each way, age) and the servers' entrypoints. `tunnelRows` is
// the data path (no DOM), `renderTunnels` draws it. It imports nothing that reads the page at load, so tests import it
// outside a browser.

import { formatBytes, formatCount, formatDuration } from "./format.js";
import { drawRows } from "./row_table.js";

/** Column headers, in the order of the cells `tunnelRows` returns. */
export const TUNNEL_COLUMNS = ["Server", "Tunnel", "Clients", "Conns (open / total)", "In", "Out", "Age"];

/**
 * The table's text: one array of cells per tunnel, plus a line naming the entrypoints.
 * @param {{servers?: any[], list?: any[]}} data the `data` of GET /tunnels
 * @returns {{rows: {key: string, cells: string[]}[], entrypoints: string}}
 */
export function tunnelRows(data) {
  const list = Array.isArray(data?.list) ? data.list : [];
  const rows = list.map((t) => {
    const clients = Array.isArray(t.clients) ? t.clients : [];
    const who = clients.map((c) => `${c.remote} (${c.network}, w${c.weight}, ${formatCount(c.connsOpen)} open)`);
    return {
      key: `${t.service}/${t.id}`,
      cells: [
        String(t.service),
        `${t.id} (${t.endpoint})`,
        clients.length ? `${formatCount(clients.length)}: ${who.join("; ")}` : "none",
        `${formatCount(t.connsOpen)} / ${formatCount(t.connsTotal)}`,
        formatBytes(t.bytesIn),
        formatBytes(t.bytesOut),
        formatDuration(t.ageMs / 1000),
      ],
    };
  });
  const servers = Array.isArray(data?.servers) ? data.servers : [];
  const eps = servers.filter((s) => s.entrypoints?.length).map((s) => `${s.service}: ${s.entrypoints.join(", ")}`);
  return { rows, entrypoints: eps.length ? `Entrypoints: ${eps.join("; ")}` : "" };
}

let shownKey = "";

/**
 * Draws the panel (table `#tunnels`, `#tunnels-empty`, `#tunnels-entrypoints`) from GET /tunnels' `data`; the panel
 * shows only while a tunnel server runs.
 * @param {any} data
 */
export function renderTunnels(data) {
  const { rows, entrypoints } = tunnelRows(data);
  const servers = Array.isArray(data?.servers) ? data.servers.length : 0;
  document.getElementById("tunnels-section").hidden = servers === 0 && rows.length === 0;
  const line = document.getElementById("tunnels-entrypoints");
  if (line.textContent !== entrypoints) line.textContent = entrypoints;
  const table = /** @type {HTMLTableElement} */ (document.getElementById("tunnels"));
  shownKey = drawRows(table, "tunnels-empty", rows, "tunnel", shownKey);
}
