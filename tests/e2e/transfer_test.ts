/** A 50 MB download through tcp forwarding, SOCKS5 and HTTP CONNECT arrives intact (sha256). */
import { equal } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { run } from "../helpers/run.ts";

const SIZE = 50 * 1024 * 1024;

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("a 50 MB transfer through tcp forward, socks5 and http CONNECT keeps its sha256", async () => {
  const data = new Uint8Array(SIZE);
  for (let off = 0; off < SIZE; off += 65536) crypto.getRandomValues(data.subarray(off, Math.min(off + 65536, SIZE)));
  const want = await sha256(data);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response(data));
  const origin = server.addr.port;
  const [fwd, socks, http] = [freePort(), freePort(), freePort()];
  await using _gost = await startGost([
    "-L",
    `tcp://127.0.0.1:${fwd}/127.0.0.1:${origin}`,
    "-L",
    `socks5://127.0.0.1:${socks}`,
    "-L",
    `http://127.0.0.1:${http}`,
  ], { listening: 3 });
  const cases: [string, string[]][] = [
    ["tcp forward", [`http://127.0.0.1:${fwd}/`]],
    ["socks5", ["--socks5", `127.0.0.1:${socks}`, `http://127.0.0.1:${origin}/`]],
    ["http CONNECT", ["-p", "-x", `http://127.0.0.1:${http}`, `http://127.0.0.1:${origin}/`]],
  ];
  for (const [name, args] of cases) {
    const r = await run("curl", ["-sS", "--max-time", "60", ...args], { timeoutMs: 60_000 });
    equal(r.code, 0, `${name}: ${r.stderr}`);
    equal(r.bytes.length, SIZE, name);
    equal(await sha256(r.bytes), want, name);
  }
  await server.shutdown();
});
