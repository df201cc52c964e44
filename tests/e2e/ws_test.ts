/**
 * The ws, wss, mws and mwss transports end to end, as real processes: curl through an entry whose node is `http+ws`,
 * `relay+wss`, `socks5+ws` (with a custom `path`), `relay+mws`, `socks5+mwss` and the default-handler forms
 * (`-L ws://`, `-L mws://`); many requests over one mws/mwss session (one TCP conn to the node); a node answers garbage
 * instead of an upgrade with 400 (a wrong path with 404), logs it, and keeps serving.
 */
import { equal, match } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { establishedTo } from "../helpers/sockets.ts";
import { until } from "../helpers/wait.ts";

const cases: [string, string][] = [
  ["http+ws", ""],
  ["relay+wss", ""],
  ["socks5+ws", "?path=/tunnel"],
  ["ws", ""], // the default handler (auto) and connector (http)
  ["wss", ""],
  ["relay+mws", ""],
  ["socks5+mwss", "?path=/m"],
  ["mws", ""],
];

for (const [scheme, query] of cases) {
  Deno.test(`${scheme}${query}: curl through -L http:// -F ${scheme}:// to a -L ${scheme}:// node`, async () => {
    const origin = httpOrigin();
    const [node, entry] = [freePort(), freePort()];
    await using _node = await startGost(["-L", `${scheme}://127.0.0.1:${node}${query}`]);
    await using _entry = await startGost([
      "-L",
      `http://127.0.0.1:${entry}`,
      "-F",
      `${scheme}://127.0.0.1:${node}${query}`,
    ]);
    try {
      const r = await curl(
        "-sS",
        "--max-time",
        "20",
        "-x",
        `http://127.0.0.1:${entry}`,
        `http://127.0.0.1:${origin.port}/x`,
      );
      equal(r.stdout, "hello /x", r.stderr);
      const big = await curl(
        "-sS",
        "--max-time",
        "20",
        "-x",
        `http://127.0.0.1:${entry}`,
        `http://127.0.0.1:${origin.port}/bytes/3000000`,
      );
      equal(big.stdout.length, 3_000_000, big.stderr);
    } finally {
      await origin.close();
    }
  });
}

/** Sends `bytes` on a fresh conn to `port` and returns everything the node answers until it closes. */
async function exchange(port: number, bytes: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode(bytes));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let i = 0; i < 100; i++) {
      const n = await c.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((b) => [...b])));
  } finally {
    c.close();
  }
}

Deno.test("ws: garbage instead of an upgrade gets 400, a wrong path 404, each logged; the node keeps serving", async () => {
  const origin = httpOrigin();
  const [node, entry] = [freePort(), freePort()];
  await using gostNode = await startGost(["-L", `http+ws://127.0.0.1:${node}`]);
  await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `http+ws://127.0.0.1:${node}`]);
  try {
    match(await exchange(node, "GARBAGE\r\n\r\n"), /^HTTP\/1\.1 400 Bad Request\r\n/);
    const plain = await exchange(node, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    match(plain, /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nBad Request\n$/);
    match(await exchange(node, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 404 Not Found\r\n/);
    await until(() => gostNode.lines.some((l) => l.includes("upgrade failed") && l.includes("(400)")), "a log line");
    await until(() => gostNode.lines.some((l) => l.includes("upgrade failed") && l.includes("(404)")), "the 404 line");
    const r = await curl(
      "-sS",
      "--max-time",
      "20",
      "-x",
      `http://127.0.0.1:${entry}`,
      `http://127.0.0.1:${origin.port}/after`,
    );
    equal(r.stdout, "hello /after", r.stderr);
  } finally {
    await origin.close();
  }
});

for (const scheme of ["relay+mws", "relay+mwss"]) {
  Deno.test(`${scheme}: 20 concurrent requests ride one WebSocket (one TCP conn) to the node`, async () => {
    const origin = httpOrigin();
    const [node, entry] = [freePort(), freePort()];
    await using _node = await startGost(["-L", `${scheme}://127.0.0.1:${node}`]);
    await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `${scheme}://127.0.0.1:${node}`]);
    try {
      const results = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) =>
            curl("-sS", "--max-time", "20", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/${i}`),
        ),
      );
      equal(
        results.filter((r, i) => r.stdout === `hello /${i}`).length,
        20,
        results.find((r) => r.stderr)?.stderr ?? "",
      );
      equal(establishedTo(node), 1, "one session conn to the node");
    } finally {
      await origin.close();
    }
  });
}
