/**
 * Shadowsocks (TCP) against shadowsocks-libev with real processes, for every AEAD method both ways: ss-local → our
 * `-L ss://` server → an HTTP origin (curl `--socks5-hostname` through ss-local), and curl → our `-L http://` client
 * with `-F ss://` → ss-server → the origin. shadowsocks-libev missing fails these tests (.ci/run installs it).
 * @module
 */
import { equal, fail } from "node:assert/strict";
import { freePort, startGost } from "../../helpers/gost.ts";
import { type Proc, spawnProc } from "../../helpers/process.ts";
import { curl, has } from "../../helpers/run.ts";
import { httpOrigin } from "../../helpers/servers.ts";

export const AEAD_METHODS = ["aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"];
const PASSWORD = "interop-pw";

/**
 * Starts a shadowsocks-libev program (`ss-server`, `ss-local`, `ss-tunnel`) with `-v` and waits for its
 * "listening at" line(s).
 */
export async function libev(cmd: string, args: string[], lines = 1): Promise<Proc> {
  if (!has(cmd)) fail(`${cmd} is not installed: apt-get install shadowsocks-libev (.ci/run installs it)`);
  const p = spawnProc(cmd, [...args, "-v"]);
  try {
    for (let i = 0; i < lines; i++) await p.waitLine(i ? /udp server listening at/ : /listening at/, 10_000);
  } catch (err) {
    await p.stop("SIGKILL");
    throw err;
  }
  return p;
}

Deno.test("ss: ss-local → our -L ss:// servers (one per AEAD method, one process) → an HTTP origin", async () => {
  const origin = httpOrigin();
  const ports = AEAD_METHODS.map(() => freePort());
  try {
    const args = AEAD_METHODS.flatMap((m, i) => [
      "-L",
      // the last one in SIP002's form: base64(method:password)
      i === AEAD_METHODS.length - 1
        ? `ss://${btoa(`${m}:${PASSWORD}`)}@127.0.0.1:${ports[i]}`
        : `ss://${m}:${PASSWORD}@127.0.0.1:${ports[i]}`,
    ]);
    await using gost = await startGost(args, { listening: AEAD_METHODS.length });
    // garbage and a truncated salt first: the process must stay up and serve the clients below
    for (const junk of [crypto.getRandomValues(new Uint8Array(300)), new Uint8Array(7)]) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: ports[0] });
      await c.write(junk);
      c.close();
    }
    for (const [i, method] of AEAD_METHODS.entries()) {
      const local = freePort();
      await using _l = await libev("ss-local", [
        ...["-s", "127.0.0.1", "-p", String(ports[i]), "-l", String(local), "-k", PASSWORD, "-m", method],
      ]);
      const socks = `127.0.0.1:${local}`;
      const r = await curl("--socks5-hostname", socks, `http://127.0.0.1:${origin.port}/libev/${method}`);
      equal(r.code, 0, `${method}: ${r.stderr}`);
      equal(r.stdout, `hello /libev/${method}`);
      const big = await curl("--socks5-hostname", socks, `http://127.0.0.1:${origin.port}/bytes/3000000`);
      equal(big.code, 0, `${method}: ${big.stderr}`);
      equal(big.stdout.length, 3_000_000, method);
    }
    equal(
      gost.child.pid > 0 && (await Promise.race([gost.child.status.then(() => "exited"), Promise.resolve("up")])),
      "up",
    );
  } finally {
    await origin.close();
  }
});

Deno.test("ss: curl → our -L http:// with -F ss:// → ss-server (each AEAD method) → an HTTP origin", async () => {
  const origin = httpOrigin();
  try {
    await Promise.all(AEAD_METHODS.map(async (method) => {
      const ssPort = freePort(), httpPort = freePort();
      await using _s = await libev("ss-server", [
        ...["-s", "127.0.0.1", "-p", String(ssPort), "-k", PASSWORD, "-m", method],
      ]);
      await using _gost = await startGost([
        "-L",
        `http://127.0.0.1:${httpPort}`,
        "-F",
        `ss://${method}:${PASSWORD}@127.0.0.1:${ssPort}`,
      ]);
      const proxy = `http://127.0.0.1:${httpPort}`;
      const r = await curl("-x", proxy, `http://127.0.0.1:${origin.port}/to-libev/${method}`);
      equal(r.code, 0, `${method}: ${r.stderr}`);
      equal(r.stdout, `hello /to-libev/${method}`);
      const big = await curl("-x", proxy, `http://127.0.0.1:${origin.port}/bytes/3000000`);
      equal(big.code, 0, `${method}: ${big.stderr}`);
      equal(big.stdout.length, 3_000_000, method);
    }));
  } finally {
    await origin.close();
  }
});
