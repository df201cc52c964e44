/**
 * Multiplexing transports end to end, as real processes: 100 concurrent curl requests through an entry whose node is
 * `socks5+mtcp` / `relay+mtls` are all in flight at once while exactly one TCP conn exists to the node (with plain
 * tcp it would be 100); after the node restarts, the next request opens a new session.
 */
import { equal } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { establishedTo } from "../helpers/sockets.ts";

const N = 100;

/** An HTTP origin that holds every request until `N` arrived (or 30 s passed), so that all are in flight at once. */
function barrierOrigin() {
  let arrived = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let allArrived!: () => void;
  const all = new Promise<void>((r) => (allArrived = r));
  const timer = setTimeout(release, 30_000);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/held/")) {
      if (++arrived === N) allArrived();
      await released;
    }
    return new Response(`hello ${path}`);
  });
  return {
    port: server.addr.port,
    get arrived() {
      return arrived;
    },
    all,
    release: () => (clearTimeout(timer), release()),
    close: () => (clearTimeout(timer), release(), server.shutdown()),
  };
}

for (const scheme of ["socks5+mtcp", "relay+mtls"]) {
  Deno.test(`${scheme}: ${N} concurrent requests ride one TCP conn to the node; a restarted node gets a new session`, async () => {
    const origin = barrierOrigin();
    const [node, entry] = [freePort(), freePort()];
    let nodeProc = await startGost(["-L", `${scheme}://127.0.0.1:${node}`]);
    await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `${scheme}://127.0.0.1:${node}`]);
    try {
      const requests = Array.from(
        { length: N },
        (_, i) =>
          curl("--max-time", "40", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/held/${i}`),
      );
      await Promise.race([origin.all, Promise.all(requests).then(() => {})]);
      equal(origin.arrived, N, "every request is at the origin");
      equal(establishedTo(node), 1, `${N} requests in flight over exactly one TCP conn to the node`);
      origin.release();
      const results = await Promise.all(requests);
      equal(
        results.filter((r, i) => r.stdout === `hello /held/${i}`).length,
        N,
        results.find((r) => r.stderr)?.stderr ?? "",
      );

      await nodeProc.stop("SIGKILL"); // the session's conn dies with the node
      equal(establishedTo(node), 0, "no conn to the dead node");
      nodeProc = await startGost(["-L", `${scheme}://127.0.0.1:${node}`]);
      const after = await curl("-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/after`);
      equal(after.stdout, "hello /after", after.stderr);
      equal(establishedTo(node), 1, "the entry opened a new session to the restarted node");
    } finally {
      await nodeProc.stop("SIGKILL");
      await origin.close();
    }
  });
}
