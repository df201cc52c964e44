/**
 * TLS clients that close their side in the middle of the handshake (found by the fuzz: RSS grew 60–100 MB per fuzz
 * round). node:tls over a duplex never ends such a handshake: it waited for ever, past the handshake timeout (the
 * timeout closed the TCP conn but not the TLSSocket), and each one kept its TLSSocket, about 10 KiB. Now the end of
 * the client's bytes fails the handshake at once, and the timeout destroys the socket whatever happened.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curlStatus } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

const CLIENTS = 1000;
const BATCH = 50;

/** A TLS record header announcing a 60-byte ClientHello, and only the first 47 bytes of it. */
const PARTIAL_HELLO = Uint8Array.from([
  0x16,
  3,
  1,
  0,
  60,
  1,
  0,
  0,
  56,
  3,
  3,
  ...new Uint8Array(32),
  0,
  0,
  2,
  0x13,
  1,
  1,
  0,
  0,
  0,
]);

/** How long a client waits for the server to end its conn before it counts the handshake as stuck. */
const STUCK_MS = 10_000;

/**
 * Sends the partial hello, closes the write side and waits (bounded) for the server to close.
 * @returns false when the server had not closed within {@link STUCK_MS}
 */
async function partialHello(port: number): Promise<boolean> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await c.write(PARTIAL_HELLO);
    await c.closeWrite();
    const closed = (async () => {
      const buf = new Uint8Array(1024);
      try {
        while ((await c.read(buf)) !== null);
      } catch {
        // reset: also an end
      }
      return true;
    })();
    return await Promise.race([closed, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), STUCK_MS)))]);
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch { /* closed */ }
  }
}

Deno.test({
  name: "TLS clients that leave mid-handshake: each handshake fails at once (not at the timeout) and is released",
  async fn() {
    const port = freePort();
    const origin = httpOrigin();
    // A handshake timeout far beyond the test: only the end of the client's bytes can end these handshakes.
    await using g = await startGost(["-D", "-L", `http+tls://127.0.0.1:${port}?handshakeTimeout=300s`]);
    try {
      const failed = () => g.lines.filter((l) => l.includes("TLS handshake failed")).length;
      let stuck = 0;
      for (let i = 0; i < CLIENTS && !stuck; i += BATCH) {
        const ended = await Promise.all(Array.from({ length: BATCH }, () => partialHello(port)));
        stuck += ended.filter((e) => !e).length;
      }
      equal(stuck, 0, `handshakes still open ${STUCK_MS} ms after their client left`);
      await until(() => failed() === CLIENTS, `${CLIENTS} failed handshakes logged (${failed()} so far)`, 20_000);
      const why = g.lines.find((l) => l.includes("TLS handshake failed")) ?? "";
      ok(/peer closed during the TLS handshake/.test(why), why);
      ok(/"level":"debug"/.test(why), `a client that leaves is a debug line: ${why}`);
      // the listener still serves a real client
      equal(
        await curlStatus("--proxy-insecure", "-x", `https://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`),
        "200",
      );
    } finally {
      await origin.close();
    }
  },
});
