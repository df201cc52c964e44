/**
 * Shadowsocks UDP (`ssu`) against shadowsocks-libev with real processes, for every AEAD method both ways:
 * `ss-tunnel -U` → our `-L ssu://` server → a UDP echo, and our `-L udp://` forwarder with `-F ssu://` →
 * `ss-server -u` → the echo. shadowsocks-libev missing fails these tests (.ci/run installs it).
 * @module
 */
import { deepEqual } from "node:assert/strict";
import { closeQuietly } from "../../../core/conn.ts";
import { dialUdp } from "../../../core/udp.ts";
import { freePort, freeUdpPort, startGost } from "../../helpers/gost.ts";
import { concatBytes, datagramRoundTrip } from "../../helpers/io.ts";
import { pattern } from "../../helpers/mux_pair.ts";
import { udpEcho } from "../../helpers/servers.ts";
import { AEAD_METHODS, libev } from "../ss/interop_test.ts";

const PASSWORD = "udp-interop-pw";
const enc = new TextEncoder();
/** shadowsocks-libev drops UDP packets over about 1,400 bytes unless its MTU is raised. */
const MTU = "9000";

/**
 * Datagrams of 1, 1,400 and 3,000 bytes (a larger reply is lost once: the association's first receive buffer is
 * 4 KiB, docs/architecture.md, "Datagram sessions") to 127.0.0.1:`port` come back from the echo with its prefix. */
async function echoes(port: number, what: string): Promise<void> {
  const c = dialUdp("127.0.0.1", port);
  try {
    for (const size of [1, 1400, 3000]) {
      const d = pattern(size, size);
      deepEqual(await datagramRoundTrip(c, d), concatBytes([enc.encode("echo:"), d]), `${what}: ${size} bytes`);
    }
  } finally {
    closeQuietly(c);
  }
}

Deno.test("ssu: ss-tunnel -U → our -L ssu:// servers (one per AEAD method, one process) → a UDP echo", async () => {
  const echo = udpEcho("echo:");
  const ports = AEAD_METHODS.map(() => freeUdpPort());
  try {
    const args = AEAD_METHODS.flatMap((m, i) => ["-L", `ssu://${m}:${PASSWORD}@127.0.0.1:${ports[i]}`]);
    await using _gost = await startGost(args, { listening: AEAD_METHODS.length });
    for (const [i, method] of AEAD_METHODS.entries()) {
      const local = freeUdpPort();
      await using _t = await libev("ss-tunnel", [
        ...["-s", "127.0.0.1", "-p", String(ports[i]), "-l", String(local), "-L", `127.0.0.1:${echo.port}`],
        ...["-k", PASSWORD, "-m", method, "-U", "--mtu", MTU],
      ]);
      await echoes(local, method);
    }
  } finally {
    echo.close();
  }
});

Deno.test("ssu: our -L udp:// forwarder with -F ssu:// → ss-server -u (each AEAD method) → a UDP echo", async () => {
  const echo = udpEcho("echo:");
  try {
    await Promise.all(AEAD_METHODS.map(async (method) => {
      const ssPort = freePort(), local = freeUdpPort();
      await using _s = await libev("ss-server", [
        ...["-s", "127.0.0.1", "-p", String(ssPort), "-k", PASSWORD, "-m", method, "-u", "--mtu", MTU],
      ], 2);
      await using _gost = await startGost([
        "-L",
        `udp://127.0.0.1:${local}/127.0.0.1:${echo.port}`,
        "-F",
        `ssu://${method}:${PASSWORD}@127.0.0.1:${ssPort}`,
      ]);
      await echoes(local, method);
    }));
  } finally {
    echo.close();
  }
});
