/**
 * One `auto` service serves HTTP (absolute URI and CONNECT), SOCKS4, SOCKS4a, SOCKS5 and SOCKS5-hostname to real
 * curl clients, with and without auth, from a real gost.ts process.
 */
import { equal, notEqual } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";

const modes: [string, (port: number) => string[]][] = [
  ["http absolute URI", (p) => ["-x", `http://127.0.0.1:${p}`]],
  ["http CONNECT (-p)", (p) => ["-p", "-x", `http://127.0.0.1:${p}`]],
  ["socks4", (p) => ["--socks4", `127.0.0.1:${p}`]],
  ["socks4a", (p) => ["--socks4a", `127.0.0.1:${p}`]],
  ["socks5", (p) => ["--socks5", `127.0.0.1:${p}`]],
  ["socks5-hostname", (p) => ["--socks5-hostname", `127.0.0.1:${p}`]],
];

Deno.test("auto serves every proxy protocol on one port, with and without auth", async (t) => {
  const origin = httpOrigin();
  const open = freePort();
  const authed = freePort();
  await using _gost = await startGost([
    "-L",
    `127.0.0.1:${open}`,
    "-L",
    `auto://alice:s3cret@127.0.0.1:${authed}`,
  ], { listening: 2 });
  for (const [name, args] of modes) {
    const host = name.endsWith("hostname") || name === "socks4a" ? "localhost" : "127.0.0.1";
    const url = `http://${host}:${origin.port}/${name.replace(/\W+/g, "-")}`;
    await t.step(`${name} without auth`, async () => {
      const r = await curl(...args(open), url);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, `hello /${name.replace(/\W+/g, "-")}`);
    });
    if (name.startsWith("socks4")) {
      await t.step(`${name} is refused when the service requires a password`, async () => {
        const r = await curl(...args(authed), "--proxy-user", "alice:s3cret", url);
        notEqual(r.code, 0);
      });
      continue;
    }
    await t.step(`${name} with the right credentials`, async () => {
      const r = await curl(...args(authed), "--proxy-user", "alice:s3cret", url);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, `hello /${name.replace(/\W+/g, "-")}`);
    });
    await t.step(`${name} with wrong credentials is refused`, async () => {
      const r = await curl(...args(authed), "--proxy-user", "alice:wrong", url);
      notEqual(r.code === 0 && r.stdout.startsWith("hello"), true);
    });
    await t.step(`${name} with no credentials is refused`, async () => {
      const r = await curl(...args(authed), url);
      notEqual(r.code === 0 && r.stdout.startsWith("hello"), true);
    });
  }
  await origin.close();
});
