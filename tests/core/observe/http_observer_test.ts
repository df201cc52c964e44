/** The HTTP observer plugin client: GOST's body, headers and success rule. */
import { deepEqual, equal } from "node:assert/strict";
import { nopLogger } from "../../../core/log.ts";
import { HttpObserver, type ObserverEvent } from "../../../core/observe/observer.ts";
import { observerServer } from "../../helpers/observe.ts";

const status: ObserverEvent = {
  kind: "service",
  service: "service-0",
  type: "status",
  status: { state: "ready", msg: "service service-0 is ready" },
};

Deno.test("HTTP observer posts GOST's JSON with a Bearer token, prefixing http:// to a bare address", async () => {
  const plugin = observerServer();
  const obs = new HttpObserver({ addr: plugin.addr, token: "t0k", timeoutMs: 5000, logger: nopLogger });
  equal(obs.url, plugin.url);
  equal(await obs.observe([status]), true);
  equal(await obs.observe([]), true);
  equal(plugin.requests.length, 1, "an empty batch is not sent");
  const r = plugin.requests[0];
  equal(r.authorization, "Bearer t0k");
  equal(r.contentType, "application/json");
  deepEqual(r.body, {
    events: [{
      kind: "service",
      service: "service-0",
      type: "status",
      status: { state: "ready", msg: "service service-0 is ready" },
    }],
  });
  const anonymous = new HttpObserver({ addr: plugin.url, timeoutMs: 5000, logger: nopLogger });
  equal(await anonymous.observe([status]), true);
  equal(plugin.requests[1].authorization, null, "no token, no Authorization header");
  await plugin.close();
});

Deno.test('HTTP observer: only 200 with {"ok":true} is success; errors and timeouts are failures', async () => {
  const replies = [
    () => new Response("nope", { status: 500 }),
    () => Response.json({ ok: true }, { status: 201 }),
    () => Response.json({ ok: false }),
    () => new Response("not json"),
    () => Response.json({ ok: "true" }),
  ];
  const plugin = observerServer((_r, n) => replies[n]());
  const obs = new HttpObserver({ addr: plugin.addr, timeoutMs: 5000, logger: nopLogger });
  for (let i = 0; i < replies.length; i++) equal(await obs.observe([status]), false, `reply ${i}`);
  await plugin.close();

  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow = observerServer(async () => {
    await held;
    return Response.json({ ok: true });
  });
  const impatient = new HttpObserver({ addr: slow.addr, timeoutMs: 150, logger: nopLogger });
  equal(await impatient.observe([status]), false);
  release();
  await slow.close();

  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (dead.addr as Deno.NetAddr).port;
  dead.close();
  equal(
    await new HttpObserver({ addr: `127.0.0.1:${port}`, timeoutMs: 2000, logger: nopLogger }).observe([status]),
    false,
  );
});
