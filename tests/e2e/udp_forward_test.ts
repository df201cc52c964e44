/** UDP port forwarding in a real gost.ts process keeps a session for many exchanges (GOST's 5 s complaint). */
import { equal } from "node:assert/strict";
import { freeUdpPort, startGost } from "../helpers/gost.ts";
import { udpEcho } from "../helpers/servers.ts";

Deno.test("udp forwarding relays many exchanges from several clients over their sessions", async () => {
  const echo = udpEcho("pong:");
  const port = freeUdpPort();
  await using _gost = await startGost(["-L", `udp://127.0.0.1:${port}/127.0.0.1:${echo.port}`]);
  const clients = [0, 1, 2].map(() => Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" }));
  const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
  for (let round = 0; round < 5; round++) {
    for (const [i, c] of clients.entries()) {
      await c.send(new TextEncoder().encode(`c${i}r${round}`), to);
      const [d] = await c.receive();
      equal(new TextDecoder().decode(d), `pong:c${i}r${round}`);
    }
  }
  for (const c of clients) c.close();
  echo.close();
});
