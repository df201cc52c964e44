/** Status and stats of a service built from config, checked through the core API after known traffic. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { buildServices } from "../../../core/config/build.ts";
import { parseConfig } from "../../../core/config/load.ts";
import { nopLogger } from "../../../core/log.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { httpOrigin } from "../../helpers/servers.ts";
import { until } from "../../helpers/wait.ts";
import { exchange as rawExchange } from "../../helpers/io.ts";

/** Sends `request` raw and reads to EOF; returns the bytes received. */
async function exchange(port: number, request: string): Promise<number> {
  return (await rawExchange(port, request, { timeoutMs: 30_000 })).bytes.length;
}

Deno.test("status and stats count exactly the traffic of N requests, errors as GOST does", async () => {
  const origin = httpOrigin();
  const { config } = await parseConfig(
    `services:
  - name: proxy
    addr: 127.0.0.1:0
    handler: {type: http, auth: {username: u, password: p}}
    metadata: {enableStats: true}
`,
    "inline",
  );
  const [svc] = await buildServices(config.services!, { reg: createBuiltinRegistries(), logger: nopLogger });
  svc.serve();
  const port = (svc.addr as Deno.NetAddr).port;
  const auth = btoa("u:p");
  const req =
    `GET http://127.0.0.1:${origin.port}/s HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`;
  const N = 5;
  let output = 0;
  for (let i = 0; i < N; i++) output += await exchange(port, req);
  // one refused by auth (not an error), one to a dead port (a server error)
  const bad = `GET http://127.0.0.1:${origin.port}/s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
  output += await exchange(port, bad);
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const toDead =
    `GET http://127.0.0.1:${deadPort}/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`;
  output += await exchange(port, toDead);
  // the client sees EOF when the handler closes the conn; the service counts the error and the close after that
  await until(() => svc.stats!.currentConns === 0 && svc.stats!.totalErrs > 0, "the service to end every conn");
  const st = svc.statusJSON() as { state: string; events: { msg: string }[]; stats: Record<string, number> };
  equal(st.state, "ready");
  deepEqual(st.events.map((e) => e.msg), [
    "service proxy is running",
    "service proxy is ready",
    `service proxy is listening on 127.0.0.1:${port}`,
  ]);
  deepEqual(st.stats, {
    totalConns: N + 2,
    currentConns: 0,
    totalErrs: 1,
    inputBytes: N * req.length + bad.length + toDead.length,
    outputBytes: output,
  });
  await svc.close();
  equal(svc.status.state, "closed");
  ok(svc.status.events.at(-1)!.msg === "service proxy is closed");
  await origin.close();
});
