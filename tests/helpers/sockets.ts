/**
 * Counts established TCP conns from /proc/net/tcp and /proc/net/tcp6 (Linux; no package needed).
 * @module
 */

/** The ESTABLISHED state in /proc/net/tcp. */
const ESTABLISHED = "01";

/**
 * Established TCP conns of this host whose remote port is `port`: the client ends of conns to a local server on it.
 * @example establishedTo(8080) // 1
 */
export function establishedTo(port: number): number {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const remPort = parseInt(f[2].split(":").pop()!, 16);
      if (remPort === port && f[3] === ESTABLISHED) n++;
    }
  }
  return n;
}
