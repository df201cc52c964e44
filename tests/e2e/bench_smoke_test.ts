/**
 * `deno task bench --quick --floor` (about 110 s): the bench runs end to end against the real peers — the 2-hop chains
 * too — and prints every row of its tables with numeric figures. The targets are not asserted: CI machines vary.
 */
import { equal, ok } from "node:assert/strict";
import { HEADER, parseTable } from "../bench/table.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ROWS = [
  /^tcp forward, iperf3 upload/,
  /^tcp forward, iperf3 -R/,
  /^socks5 download/,
  /^http CONNECT download/,
  /^http proxy, short conns/,
  /^socks5, 100 idle relayed conns/,
  /^idle RSS of `-L socks5:\/\/127\.0\.0\.1:PORT`, deno run main.ts/,
  /^idle RSS of `-L socks5:\/\/127\.0\.0\.1:PORT`, the bundle/,
  /^`-O yaml` startup, deno run main.ts/,
  /^`-O yaml` startup, the bundle/,
  /^2-hop chain, CONNECT download/,
  /^2-hop chain, short conns/,
  /^relay\+quic, CONNECT download/,
  /^relay\+wss tunnel, two processes, iperf3 upload/,
  /^relay\+wss tunnel, two processes, iperf3 -R/,
  /^relay\+mwss tunnel, two processes, iperf3 upload/,
  /^relay\+mwss tunnel, two processes, iperf3 -R/,
  /^200 concurrent downloads over one relay\+mwss session, aggregate/,
  /^200 concurrent downloads over one relay\+mwss session, Jain's fairness index/,
  /^mwss, 200 idle streams on one session/,
  /^relay\+h2 tunnel, two processes, iperf3 upload/,
  /^relay\+h2 tunnel, two processes, iperf3 -R/,
  /^relay\+grpc tunnel, two processes, iperf3 upload/,
  /^relay\+grpc tunnel, two processes, iperf3 -R/,
  /^ss aes-128-gcm, iperf3 upload/,
  /^ss aes-128-gcm, iperf3 -R/,
  /^ss aes-192-gcm, iperf3 upload/,
  /^ss aes-192-gcm, iperf3 -R/,
  /^ss aes-256-gcm, iperf3 upload/,
  /^ss aes-256-gcm, iperf3 -R/,
  /^ss chacha20-ietf-poly1305, iperf3 upload/,
  /^ss chacha20-ietf-poly1305, iperf3 -R/,
  /^relay\+kcp tunnel, two processes, iperf3 upload/,
  /^relay\+kcp tunnel, two processes, iperf3 -R/,
  /^kcp forward, two processes, iperf3 upload/,
  /^kcp forward, two processes, iperf3 -R/,
  /^reverse tunnel: HTTP via the entrypoint/,
  /^DNS proxy, UDP queries\/s with a warm cache/,
  /^bypass lookup per connection against a 100k-entry bypass file/,
  /^admission lookup per connection against a 100k-entry admission file/,
  /^hosts lookup per connection against a 100k-line hosts file/,
];

Deno.test("deno task bench --quick --floor completes and prints every row with numeric values", async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      "--quiet",
      `${ROOT}tests/bench/main.ts`,
      "--quick",
      "--floor",
      `--json=${json}`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // The bench stops itself after 300 s in quick mode; SIGTERM (it cleans up its processes) then SIGKILL as backups.
  const term = setTimeout(() => child.kill("SIGTERM"), 320_000);
  const kill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 330_000);
  const out = await child.output();
  clearTimeout(term);
  clearTimeout(kill);
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  try {
    equal(out.code, 0, `bench exited ${out.code}\n${stdout}\n${stderr}`);
    const rows = parseTable(stdout, HEADER[0]);
    equal(rows.length, ROWS.length, `expected ${ROWS.length} rows:\n${stdout}`);
    for (const [i, re] of ROWS.entries()) {
      const [name, ours, peer, ratio, target, okCell] = rows[i];
      ok(re.test(name), `row ${i}: "${name}" should match ${re}`);
      for (const [col, v] of [["ours", ours], ["peer", peer], ["ratio", ratio]]) {
        ok(/^-?\d+(\.\d+)?$/.test(v) && Number.isFinite(Number(v)), `${name}: ${col} "${v}" is not a number`);
      }
      if (!/idle/.test(name)) ok(Number(ours) > 0 && Number(peer) > 0, `${name}: figures must be positive`);
      ok(target.length > 0 && /^(yes|NO)$/.test(okCell), `${name}: target "${target}", ok "${okCell}"`);
    }
    const reference = parseTable(stdout, "without upstream keep-alive");
    equal(reference.length, 4, `expected 4 rows without upstream keep-alive:\n${stdout}`);
    for (const [name, ours, peer] of reference) {
      ok(Number(ours) > 0 && Number(peer) > 0, `without upstream keep-alive, ${name}: "${ours}", "${peer}"`);
    }
    const floor = parseTable(stdout, "floor");
    equal(floor.length, 3, `expected 3 floor rows:\n${stdout}`);
    for (const [name, ours, bare, ratio] of floor) {
      for (const v of [ours, bare, ratio]) ok(Number.isFinite(Number(v)), `floor ${name}: "${v}" is not a number`);
    }
    ok(new RegExp(`\\d+/${ROWS.length} targets met`).test(stdout), stdout);
    const saved = JSON.parse(await Deno.readTextFile(json));
    equal(saved.rows.length, ROWS.length);
    equal(saved.failed.length, 0);
  } finally {
    await Deno.remove(json).catch(() => {});
  }
});
