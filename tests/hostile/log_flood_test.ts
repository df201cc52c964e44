/**
 * A client's garbage in the log (issue 10, item 9): malformed bytes were logged at error level and counted as
 * server errors (21,856 error lines, 30 MB, for about 45,000 fuzz conns). Now they are info lines and client
 * errors (`gost_service_client_errors_total`), `totalErrs` stays 0, and identical lines are rate-limited: what is
 * written plus what the summaries say was left out is every connection, and what is written is bounded per second.
 */
import { equal, ok } from "node:assert/strict";
import { LINE_BURST, LINE_WINDOW_MS } from "../../core/log_limit.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { until } from "../helpers/wait.ts";

const PER_SERVICE = 1000;
const BATCH = 50;
const enc = new TextEncoder();

/** Connects, sends `bytes`, reads until the server closes, then closes. */
async function garbage(port: number, bytes: Uint8Array): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(bytes);
    const buf = new Uint8Array(1024);
    while ((await c.read(buf)) !== null);
  } catch {
    // reset by the server: also an end
  } finally {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

interface Line {
  level: string;
  msg: string;
  service?: string;
  suppressed?: number;
}

Deno.test({
  name: "client garbage: info lines and client errors, never error lines or totalErrs; identical lines rate-limited",
  async fn() {
    const [socks, http, https, metrics, api] = [freePort(), freePort(), freePort(), freePort(), freePort()];
    const config = {
      services: [
        { name: "socks", addr: `127.0.0.1:${socks}`, handler: { type: "socks5" }, metadata: { enableStats: true } },
        { name: "http", addr: `127.0.0.1:${http}`, handler: { type: "http" }, metadata: { enableStats: true } },
        { name: "https", addr: `127.0.0.1:${https}`, handler: { type: "http" }, listener: { type: "tls" } },
      ],
      metrics: { addr: `127.0.0.1:${metrics}` },
      api: { addr: `127.0.0.1:${api}` },
    };
    await using gost = await startGost(["-C", JSON.stringify(config)], { listening: 3 });
    const floods: [string, number, Uint8Array][] = [
      ["socks", socks, new Uint8Array([4, 1, 0, 80, 127, 0, 0, 1, 0])], // a SOCKS4 request to a SOCKS5 server
      ["http", http, enc.encode("GET\r\n\r\n")], // no target, no version
      ["https", https, enc.encode("this is not a TLS ClientHello\r\n")],
    ];
    const start = performance.now();
    for (const [, port, bytes] of floods) {
      for (let i = 0; i < PER_SERVICE; i += BATCH) {
        await Promise.all(Array.from({ length: BATCH }, () => garbage(port, bytes)));
      }
    }
    const windows = Math.ceil((performance.now() - start) / LINE_WINDOW_MS) + 1;

    const parsed = () => gost.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Line);
    /** The message the service's garbage was logged with (the most frequent info line not about a conn). */
    const messageOf = (lines: Line[], service: string) => {
      const counts = new Map<string, number>();
      for (const l of lines) {
        if (l.service !== service || l.level !== "info" || / (<>|><) /.test(l.msg)) continue;
        counts.set(l.msg, (counts.get(l.msg) ?? 0) + 1);
      }
      return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
    };
    const tally = (lines: Line[], service: string, msg: string) => {
      const same = lines.filter((l) => l.service === service && l.msg === msg);
      const written = same.filter((l) => l.suppressed === undefined).length;
      const left = same.reduce((n, l) => n + (l.suppressed ?? 0), 0);
      return { written, left, lines: same.length };
    };
    const report: string[] = [];
    for (const [service] of floods) {
      // The summaries come when their windows end: wait for them to account for every connection.
      let t = { written: 0, left: 0, lines: 0 };
      let msg = "";
      await until(
        () => {
          const lines = parsed();
          msg = messageOf(lines, service);
          t = tally(lines, service, msg);
          return t.written + t.left === PER_SERVICE;
        },
        `${service}: lines written and left out adding up to ${PER_SERVICE}`,
        10_000,
      );
      report.push(`${service}: "${msg}" written ${t.written}, left out ${t.left} (${t.lines} lines)`);
      ok(t.lines <= (LINE_BURST + 1) * windows, `${service}: ${t.lines} lines in ${windows} windows`);
    }
    console.log(report.join("\n"));
    const errors = parsed().filter((l) => l.level === "error" || l.level === "warn");
    equal(errors.length, 0, `error/warn lines:\n${errors.slice(0, 5).map((l) => l.msg).join("\n")}`);

    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    const sample = (name: string, service: string) =>
      text.split("\n").filter((l) => l.startsWith(name) && l.includes(`service="${service}"`))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    for (const service of ["socks", "http"]) {
      equal(sample("gost_service_client_errors_total", service), PER_SERVICE, `${service} client errors`);
      equal(sample("gost_service_handler_errors_total", service), 0, `${service} handler (server) errors`);
    }
    ok(/gost_service_client_errors_total\{[^}]*kind="protocol"/.test(text));
    const cfg = await (await fetch(`http://127.0.0.1:${api}/config`)).json();
    for (const s of cfg.services.filter((s: { name: string }) => s.name !== "https")) {
      equal(s.status.stats.totalErrs, 0, `${s.name} totalErrs`);
      equal(s.status.stats.totalConns, PER_SERVICE, `${s.name} totalConns`);
    }
  },
});
