/**
 * An observer plugin's `tls` and `timeout`, in a real gost.ts process: status events reach an HTTPS (and a gRPC
 * over TLS) plugin whose certificate is signed by `tls.caFile` when `secure: true`; a CA or `serverName` that does not
 * match delivers nothing and logs a warning; `secure: false` skips the check (GOST's default); `timeout` ends a request
 * to a plugin that accepts and never answers, with a warning naming the configured time.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { loadGrpc, loadProtoLoader } from "../../core/deps/grpc.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { makePki, type Pki, startTlsForward } from "../helpers/tls_fixtures.ts";
import { until } from "../helpers/wait.ts";

// deno-lint-ignore no-explicit-any
type Ev = Record<string, any>;

/** An HTTPS observer plugin on 127.0.0.1:0 with the PKI's server certificate; records events by path. */
function httpsPlugin(cert: string, key: string) {
  const byPath = new Map<string, Ev[]>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.json() as { events: Ev[] };
    byPath.set(path, [...byPath.get(path) ?? [], ...body.events]);
    return Response.json({ ok: true });
  });
  return {
    url: (path: string) => `https://127.0.0.1:${server.addr.port}${path}`,
    events: (path: string) => byPath.get(path) ?? [],
    close: () => server.shutdown(),
  };
}

/** A TCP server that accepts, reads and never answers; counts conns and the ones the client ended. */
function hangingPlugin() {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const state = { accepted: 0, endedByClient: 0 };
  (async () => {
    for await (const c of ln) {
      state.accepted++;
      conns.add(c);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          while ((await c.read(buf)) !== null) { /* never answer */ }
          state.endedByClient++;
        } catch {
          state.endedByClient++; // reset by the client
        } finally {
          conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    state,
    close() {
      ln.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** Writes a config of one http service per observer (each service named after its observer). */
async function configFile(observers: string): Promise<{ file: string; count: number }> {
  const names = [...observers.matchAll(/^ {2}- name: (\S+)$/gm)].map((m) => m[1]);
  const services = names.map((n) =>
    `  - name: ${n}
    addr: 127.0.0.1:${freePort()}
    observer: ${n}
    handler: {type: http}
    listener: {type: tcp}
`
  ).join("");
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(file, `services:\n${services}observers:\n${observers}`);
  return { file, count: names.length };
}

/** Waits for a log line containing every part. */
function logLine(gost: GostProcess, ...parts: string[]): Promise<void> {
  return until(
    () => gost.lines.some((l) => parts.every((p) => l.includes(p))),
    `a log line with ${JSON.stringify(parts)}:\n${gost.lines.join("\n")}`,
    8000,
  );
}

const ready = (e: Ev) => e.type === "status" && e.status?.state === "ready";

Deno.test("HTTP observer plugin tls: caFile and serverName verify with secure: true; secure: false skips", async () => {
  await using pki = await makePki();
  const plugin = httpsPlugin(await Deno.readTextFile(pki.serverCert), await Deno.readTextFile(pki.serverKey));
  const { file, count } = await configFile(`  - name: good
    plugin:
      type: http
      addr: "${plugin.url("/good")}"
      tls: {secure: true, caFile: "${pki.caCert}", serverName: localhost}
      timeout: 2s
  - name: wrongca
    plugin:
      type: http
      addr: "${plugin.url("/wrongca")}"
      tls: {secure: true, caFile: "${pki.otherCaCert}"}
      timeout: 2s
  - name: wrongname
    plugin:
      type: http
      addr: "${plugin.url("/wrongname")}"
      tls: {secure: true, caFile: "${pki.caCert}", serverName: wrong.example}
      timeout: 2s
  - name: insecure
    plugin:
      type: http
      addr: "${plugin.url("/insecure")}"
      tls: {caFile: "${pki.otherCaCert}"}
      timeout: 2s
`);
  try {
    await using gost = await startGost(["-C", file], { listening: count });
    await logLine(gost, `observer ${plugin.url("/wrongca")}: `, "unable to verify");
    await logLine(gost, `observer ${plugin.url("/wrongname")}: `, "wrong.example");
    await until(() => plugin.events("/good").some(ready), "the ready event over verified TLS");
    await until(() => plugin.events("/insecure").some(ready), "the ready event with secure: false");
    deepEqual(plugin.events("/good").find(ready)?.status, { state: "ready", msg: "service good is ready" });
    equal(plugin.events("/wrongca").length, 0, "nothing is delivered to a server the CA did not sign");
    equal(plugin.events("/wrongname").length, 0, "nothing is delivered to a server of another name");
    ok(!gost.lines.some((l) => l.includes(plugin.url("/good")) && /warn/i.test(l)), "no warning for the good one");
    equal((await gost.stop()).code, 0, "kept-alive plugin connections do not hold the exit");
  } finally {
    await plugin.close();
    await Deno.remove(file);
  }
});

Deno.test("observer plugin timeout ends a request to a plugin that accepts and never answers", async () => {
  await using pki = await makePki();
  const hang = hangingPlugin();
  const url = (scheme: string, path: string) => `${scheme}://127.0.0.1:${hang.port}${path}`;
  const { file, count } = await configFile(`  - name: plain
    plugin: {type: http, addr: "${url("http", "/plain")}", timeout: 2s}
  - name: overtls
    plugin:
      type: http
      addr: "${url("https", "/tls")}"
      tls: {secure: true, caFile: "${pki.caCert}"}
      timeout: 2s
  - name: overgrpc
    plugin: {type: grpc, addr: "127.0.0.1:${hang.port}", timeout: 2s}
`);
  try {
    await using gost = await startGost(["-C", file], { listening: count });
    // the default would be 10 s: these lines come only from the configured 2 s
    await logLine(gost, `observer ${url("http", "/plain")}: timed out after 2000 ms`);
    await logLine(gost, `observer ${url("https", "/tls")}: timed out after 2000 ms`);
    await until(() => hang.state.endedByClient >= 2, "gost.ts to drop both hung requests");
    ok(hang.state.accepted >= 2);
    // gRPC (GOST has no timeout there; gost.ts makes it the call's deadline): each call ends at 2 s
    await logLine(gost, "DEADLINE_EXCEEDED: Deadline exceeded after 2.", `"observer":"overgrpc"`);
  } finally {
    hang.close();
    await Deno.remove(file);
  }
});

const PROTO = new URL("../core/observe/observer.proto", import.meta.url).pathname;

/**
 * A gRPC Observer server (insecure, grpc-js) behind an in-process gost.ts TLS listener with the PKI's server
 * certificate (grpc-js's own TLS server does not run under Deno); records the events.
 */
async function grpcTlsPlugin(pki: Pki) {
  const grpc = await loadGrpc();
  const loader = await loadProtoLoader();
  // deno-lint-ignore no-explicit-any
  const pkg = grpc.loadPackageDefinition(loader.loadSync(PROTO, { defaults: true })) as any;
  const events: Ev[] = [];
  const server = new grpc.Server();
  server.addService(pkg.proto.Observer.service, {
    // deno-lint-ignore no-explicit-any
    Observe(call: any, cb: any) {
      events.push(...call.request.events);
      cb(null, { ok: true });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)))
  );
  const front = await startTlsForward(`127.0.0.1:${port}`, {
    tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    metadata: { alpn: "h2" },
  });
  return {
    port: front.port,
    events,
    async close() {
      await front[Symbol.asyncDispose]();
      server.forceShutdown();
    },
  };
}

Deno.test("gRPC observer plugin tls: caFile verifies with secure: true; another CA delivers nothing", async () => {
  await using pki = await makePki();
  const plugin = await grpcTlsPlugin(pki);
  const { file, count } = await configFile(`  - name: ggood
    plugin:
      type: grpc
      addr: 127.0.0.1:${plugin.port}
      tls: {secure: true, caFile: "${pki.caCert}", serverName: localhost}
      timeout: 2s
  - name: gwrongca
    plugin:
      type: grpc
      addr: 127.0.0.1:${plugin.port}
      tls: {secure: true, caFile: "${pki.otherCaCert}", serverName: localhost}
      timeout: 2s
`);
  try {
    await using gost = await startGost(["-C", file], { listening: count });
    await until(() => plugin.events.some((e) => e.service === "ggood" && ready(e)), "ggood's ready").catch((e) => {
      throw new Error(`${e.message}\n${gost.lines.join("\n")}`);
    });
    await logLine(gost, `observer 127.0.0.1:${plugin.port}: `, "unable to verify", `"observer":"gwrongca"`);
    equal(plugin.events.filter((e) => e.service === "gwrongca").length, 0, "nothing from the wrong CA");
  } finally {
    await plugin.close();
    await Deno.remove(file);
  }
});
