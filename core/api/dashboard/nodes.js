// Chain nodes as one line each, for the chain form: `connector[+dialer]://[user:pass@]host:port`
// (`socks5://u:p@10.0.0.1:1080`, `relay+tls://server:443`). Pure functions, no DOM.

/**
 * Writes a chain node as one line.
 * @param {any} n
 */
export function nodeLine(n) {
  const conn = n.connector?.type ?? "http";
  const dial = n.dialer?.type && n.dialer.type !== "tcp" ? `+${n.dialer.type}` : "";
  const a = n.connector?.auth;
  const user = a?.username
    ? `${encodeURIComponent(a.username)}${a.password ? `:${encodeURIComponent(a.password)}` : ""}@`
    : "";
  return `${conn}${dial}://${user}${n.addr ?? ""}`;
}

const NODE_LINE = /^([a-z0-9-]+)(?:\+([a-z0-9-]+))?:\/\/(?:([^@/]*)@)?([^@/\s]+)$/i;

/**
 * Reads a node line back, keeping the other fields of the old node with the same address.
 * @param {string} line
 * @param {number} i
 * @param {any[]} old
 */
export function parseNodeLine(line, i, old) {
  const m = NODE_LINE.exec(line);
  if (!m) throw new Error(`Node ${i + 1}: expected connector[+dialer]://[user:pass@]host:port, got "${line}"`);
  const [, conn, dial, userinfo, addr] = m;
  const prev = old.find((n) => n.addr === addr) ?? {};
  const node = { ...prev, name: prev.name || `node-${i}`, addr };
  node.connector = { ...(prev.connector ?? {}), type: conn.toLowerCase() };
  if (userinfo !== undefined) {
    const c = userinfo.indexOf(":");
    try {
      const username = decodeURIComponent(c < 0 ? userinfo : userinfo.slice(0, c));
      const password = c < 0 ? "" : decodeURIComponent(userinfo.slice(c + 1));
      node.connector.auth = { username, password };
    } catch {
      throw new Error(`Node ${i + 1}: bad %-escape in the user or password of "${line}"`);
    }
  } else delete node.connector.auth;
  node.dialer = { ...(prev.dialer ?? {}), type: (dial ?? "tcp").toLowerCase() };
  return node;
}

/**
 * Reads node lines, giving every node a unique name.
 * @param {string[]} lines
 * @param {any[]} old the hop's current nodes
 */
export function parseNodeLines(lines, old) {
  const nodes = lines.map((l, i) => parseNodeLine(l, i, old));
  const used = new Set();
  for (const n of nodes) {
    let name = n.name;
    for (let j = 0; used.has(name); j++) name = `node-${j}`;
    n.name = name;
    used.add(name);
  }
  return nodes;
}
