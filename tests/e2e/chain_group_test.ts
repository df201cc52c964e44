/**
 * Chain features GOST users rely on, with real gost.ts processes and curl over loopback: a chain group's selector
 * over chains with failover, a backup chain used only when the others are down, and the `parallel` strategy that
 * races a hop's nodes and keeps the first that connects.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin } from "../helpers/servers.ts";

/** How many of `up`'s log lines show a request to the origin's port (each upstream logs the conns it carried). */
function carried(up: GostProcess, port: number): number {
  return up.lines.filter((l) => l.includes(`127.0.0.1:${port}`) && /"level":"info"/.test(l)).length;
}

function chainVia(name: string, port: number, md?: Record<string, unknown>) {
  return {
    name,
    ...(md ? { metadata: md } : {}),
    hops: [{
      name: `${name}-hop`,
      nodes: [{ name: `${name}-node`, addr: `127.0.0.1:${port}`, connector: { type: "socks5" } }],
    }],
  };
}

async function front(
  port: number,
  handler: Record<string, unknown>,
  chains: unknown[],
  extra: Record<string, unknown> = {},
): Promise<GostProcess> {
  const dir = await Deno.makeTempDir({ prefix: "gost-chaingroup-" });
  const file = `${dir}/gost.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ services: [{ name: "front", addr: `127.0.0.1:${port}`, handler }], chains, ...extra }),
  );
  return await startGost(["-C", file]);
}

Deno.test("chainGroup fifo: a dead chain is marked after its failure and the next chain carries the traffic", async () => {
  const origin = httpOrigin();
  const live = freePort();
  const dead = freePort();
  const port = freePort();
  await using up = await startGost(["-L", `socks5://127.0.0.1:${live}`]);
  await using _front = await front(port, {
    type: "http",
    chainGroup: { chains: ["dead", "live"], selector: { strategy: "fifo", maxFails: 1, failTimeout: "1h" } },
  }, [chainVia("dead", dead), chainVia("live", live)]);
  const url = `http://127.0.0.1:${origin.port}/g`;
  const first = await curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${port}`, url);
  equal(first.stdout, "502", "the first request goes to the first chain, which is down");
  for (let i = 0; i < 3; i++) {
    const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, url);
    equal(r.stdout, "hello /g", r.stderr);
  }
  equal(origin.requests, 3);
  ok(carried(up, origin.port) >= 3, up.lines.join("\n"));
  await origin.close();
});

Deno.test("a backup chain carries nothing while another chain is up, and the traffic once they are down", async () => {
  const origin = httpOrigin();
  const main = freePort();
  const spare = freePort();
  const dead = freePort();
  const p1 = freePort();
  const p2 = freePort();
  await using upMain = await startGost(["-L", `socks5://127.0.0.1:${main}`]);
  await using upSpare = await startGost(["-L", `socks5://127.0.0.1:${spare}`]);
  const group = (a: string) => ({
    type: "http",
    chainGroup: { chains: [a, "spare"], selector: { strategy: "round", maxFails: 1, failTimeout: "1h" } },
  });
  await using _f1 = await front(p1, group("main"), [
    chainVia("main", main),
    chainVia("spare", spare, { backup: true }),
  ]);
  await using _f2 = await front(p2, group("dead"), [
    chainVia("dead", dead),
    chainVia("spare", spare, { backup: true }),
  ]);
  const url = `http://127.0.0.1:${origin.port}/b`;
  for (let i = 0; i < 4; i++) equal((await curl("-sS", "-x", `http://127.0.0.1:${p1}`, url)).stdout, "hello /b");
  equal(carried(upSpare, origin.port), 0, "round robin never picks the backup chain while main is up");
  ok(carried(upMain, origin.port) >= 4);
  // f2: its only regular chain is down; after that failure is marked, the backup chain carries the requests
  await curl("-sS", "-o", "/dev/null", "-x", `http://127.0.0.1:${p2}`, url);
  for (let i = 0; i < 2; i++) equal((await curl("-sS", "-x", `http://127.0.0.1:${p2}`, url)).stdout, "hello /b");
  ok(carried(upSpare, origin.port) >= 2, upSpare.lines.join("\n"));
  await origin.close();
});

Deno.test("parallel: the first hop's nodes are raced; a dead node does not fail the request", async () => {
  const origin = httpOrigin();
  const live = freePort();
  const dead = freePort();
  const port = freePort();
  await using up = await startGost(["-L", `socks5://127.0.0.1:${live}`]);
  await using _front = await front(port, { type: "http", chain: "race" }, [{
    name: "race",
    hops: [{
      name: "h",
      selector: { strategy: "parallel" },
      nodes: [
        { name: "dead", addr: `127.0.0.1:${dead}`, connector: { type: "socks5" } },
        { name: "live", addr: `127.0.0.1:${live}`, connector: { type: "socks5" } },
      ],
    }],
  }]);
  const url = `http://127.0.0.1:${origin.port}/p`;
  for (let i = 0; i < 3; i++) {
    const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, url);
    equal(r.stdout, "hello /p", r.stderr);
  }
  ok(carried(up, origin.port) >= 3);
  await origin.close();
});

Deno.test("hop-level hosts map a node's host name to its address", async () => {
  const origin = httpOrigin();
  const live = freePort();
  const port = freePort();
  await using _up = await startGost(["-L", `socks5://127.0.0.1:${live}`]);
  await using _front = await front(port, { type: "http", chain: "named" }, [{
    name: "named",
    hops: [{
      name: "h",
      hosts: "upstream-hosts",
      nodes: [{ name: "n", addr: `socks-upstream.internal:${live}`, connector: { type: "socks5" } }],
    }],
  }], { hosts: [{ name: "upstream-hosts", mappings: [{ ip: "127.0.0.1", hostname: "socks-upstream.internal" }] }] });
  const r = await curl("-sS", "-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/h`);
  equal(r.stdout, "hello /h", r.stderr);
  await origin.close();
});
