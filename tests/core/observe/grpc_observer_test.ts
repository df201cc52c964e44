/**
 * gRPC observer against a local gRPC server built by @grpc/grpc-js + @grpc/proto-loader from the observer proto:
 * protobufjs decodes what our hand encoder wrote, so the wire format is checked by an independent implementation.
 */
import { deepEqual, equal } from "node:assert/strict";
import { loadGrpc, loadProtoLoader } from "../../../core/deps/grpc.ts";
import { nopLogger } from "../../../core/log.ts";
import { decodeObserveReply, encodeObserveRequest, GrpcObserver } from "../../../core/observe/grpc_observer.ts";
import { createObservability } from "../../../core/observe/mod.ts";
import type { ObserverEvent } from "../../../core/observe/observer.ts";
import { startObserved } from "../../helpers/observe.ts";

const PROTO = new URL("./observer.proto", import.meta.url).pathname;

interface Received {
  // deno-lint-ignore no-explicit-any
  request: any;
  token: string[];
}

/** A gRPC Observer server on 127.0.0.1:0 answering `ok` (a function of the call count). */
async function grpcObserverServer(ok: (n: number) => boolean = () => true) {
  const grpc = await loadGrpc();
  const loader = await loadProtoLoader();
  const def = loader.loadSync(PROTO, { longs: String, defaults: true, oneofs: true });
  // deno-lint-ignore no-explicit-any
  const pkg = grpc.loadPackageDefinition(def) as any;
  const received: Received[] = [];
  let wake: (() => void) | null = null;
  const server = new grpc.Server();
  server.addService(pkg.proto.Observer.service, {
    // deno-lint-ignore no-explicit-any
    Observe(call: any, cb: any) {
      received.push({ request: call.request, token: call.metadata.get("token").map(String) });
      cb(null, { ok: ok(received.length) });
      wake?.();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)))
  );
  return {
    port,
    received,
    async waitFor(pred: (r: Received) => boolean): Promise<Received> {
      for (;;) {
        const r = received.find(pred);
        if (r) return r;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

const events: ObserverEvent[] = [
  { kind: "service", service: "svc-0", type: "status", status: { state: "ready", msg: "service svc-0 is ready" } },
  {
    kind: "handler",
    service: "svc-0",
    client: "alice",
    type: "stats",
    stats: { totalConns: 7, currentConns: 0, inputBytes: 5_000_000_123, outputBytes: 2 ** 53 - 1, totalErrs: 1 },
  },
  {
    kind: "service",
    service: "svc-0",
    type: "stats",
    stats: { totalConns: 0, currentConns: 0, inputBytes: 0, outputBytes: 0, totalErrs: 0 },
  },
];

Deno.test("gRPC observer: protobufjs decodes every field, uint64 beyond 32 bits, token in metadata", async () => {
  const srv = await grpcObserverServer();
  const obs = new GrpcObserver({ addr: `127.0.0.1:${srv.port}`, token: "tok", timeoutMs: 5000, logger: nopLogger });
  equal(await obs.observe(events), true);
  obs.close();
  await srv.close();
  equal(srv.received.length, 1);
  deepEqual(srv.received[0].token, ["tok"]);
  deepEqual(srv.received[0].request, {
    events: [
      {
        kind: "service",
        service: "svc-0",
        client: "",
        type: "status",
        stats: null,
        status: { state: "ready", msg: "service svc-0 is ready" },
      },
      {
        kind: "handler",
        service: "svc-0",
        client: "alice",
        type: "stats",
        stats: {
          totalConns: "7",
          currentConns: "0",
          inputBytes: "5000000123",
          outputBytes: "9007199254740991",
          totalErrs: "1",
        },
        status: null,
      },
      {
        kind: "service",
        service: "svc-0",
        client: "",
        type: "stats",
        stats: { totalConns: "0", currentConns: "0", inputBytes: "0", outputBytes: "0", totalErrs: "0" },
        status: null,
      },
    ],
  });
});

Deno.test("gRPC observer: ok=false and an unreachable plugin are failures, not exceptions", async () => {
  const srv = await grpcObserverServer(() => false);
  const obs = new GrpcObserver({ addr: `127.0.0.1:${srv.port}`, timeoutMs: 5000, logger: nopLogger });
  equal(await obs.observe(events.slice(0, 1)), false);
  deepEqual(srv.received[0].token, [], "no token configured, none sent");
  obs.close();
  await srv.close();
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const gone = new GrpcObserver({ addr: `127.0.0.1:${port}`, timeoutMs: 2000, logger: nopLogger });
  equal(await gone.observe(events.slice(0, 1)), false);
  gone.close();
});

Deno.test("gRPC is the default plugin type: a service's status events reach a gRPC observer", async () => {
  const srv = await grpcObserverServer();
  const obs = createObservability(
    { observers: [{ name: "g", plugin: { addr: `127.0.0.1:${srv.port}`, token: "t" } }] },
    nopLogger,
  );
  const s = await startObserved(obs, { name: "gs", addr: "127.0.0.1:0", observer: "g", handler: { type: "http" } });
  const ready = await srv.waitFor((r) => r.request.events[0]?.status?.state === "ready");
  deepEqual(ready.request.events[0].status, { state: "ready", msg: "service gs is ready" });
  deepEqual(ready.token, ["t"]);
  await s.close();
  await srv.waitFor((r) => r.request.events[0]?.status?.state === "closed");
  await obs.close();
  await srv.close();
});

Deno.test("ObserveRequest/ObserveReply codecs on raw bytes", () => {
  deepEqual(encodeObserveRequest([]), new Uint8Array([]));
  deepEqual(
    encodeObserveRequest([{
      kind: "service",
      service: "s",
      type: "stats",
      stats: { totalConns: 300, currentConns: 0, inputBytes: 0, outputBytes: 0, totalErrs: 0 },
    }]),
    // events(1) len 24: kind(1)"service" service(2)"s" type(4)"stats" stats(5) len 3: totalConns(1)=300
    new Uint8Array([
      0x0a,
      24,
      0x0a,
      7,
      ...new TextEncoder().encode("service"),
      0x12,
      1,
      0x73,
      0x22,
      5,
      ...new TextEncoder().encode("stats"),
      0x2a,
      3,
      0x08,
      0xac,
      0x02,
    ]),
  );
  equal(decodeObserveReply(new Uint8Array([0x08, 0x01])), true);
  equal(decodeObserveReply(new Uint8Array([])), false);
  equal(decodeObserveReply(new Uint8Array([0x12, 0x01, 0x78, 0x08, 0x01])), true, "unknown fields are skipped");
  let threw = false;
  try {
    decodeObserveReply(new Uint8Array([0x08]));
  } catch (err) {
    threw = err instanceof RangeError;
  }
  equal(threw, true);
});
