/**
 * A registration's capabilities and hints (core/capabilities.ts) drive config building and the CLI: the built-ins
 * carry GOST's rules, and a type registered from outside core/ gets the same treatment by its hints alone.
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { buildService, checkService } from "../../../core/config/build.ts";
import { buildConfigFromCmd, type KnownTypes } from "../../../core/config/from_cli.ts";
import { fallbackOf } from "../../../core/capabilities.ts";
import type { Handler, HandlerOptions } from "../../../core/contracts.ts";
import { Logger, MemorySink, nopLogger } from "../../../core/log.ts";
import type { Registries } from "../../../core/registries.ts";
import { createBuiltinRegistries } from "../../../mod.ts";

function known(reg: Registries): KnownTypes {
  return { handlers: new Set(reg.handlers.names()), listeners: new Set(reg.listeners.names()), info: reg };
}

/** A handler that keeps the options it was built with and closes every conn. */
function recordingHandler(seen: HandlerOptions[]) {
  return (opts: HandlerOptions): Handler => {
    seen.push(opts);
    return {
      init: () => Promise.resolve(),
      handle: (conn) => Promise.resolve(conn.close()),
    };
  };
}

Deno.test("the built-in registrations carry GOST's defaults and rules", () => {
  const reg = createBuiltinRegistries();
  deepEqual(
    [fallbackOf(reg.handlers), fallbackOf(reg.listeners), fallbackOf(reg.connectors), fallbackOf(reg.dialers)],
    ["auto", "tcp", "http", "tcp"],
  );
  // other built-ins may come with the same capabilities: these are the ones GOST's rules name
  const has = <I>(r: { info(n: string): I | undefined }, f: (i: I) => unknown, yes: string[], no: string[]) => {
    deepEqual(yes.filter((n) => !f(r.info(n) ?? ({} as I))), [], "missing the capability");
    deepEqual(no.filter((n) => f(r.info(n) ?? ({} as I))), [], "having it by mistake");
  };
  has(reg.handlers, (i) => i.openProxy, ["auto", "http", "socks", "socks4", "socks4a", "socks5", "relay"], [
    "tcp",
    "udp",
    "forward",
    "rtcp",
    "rudp",
    "api",
  ]);
  has(reg.handlers, (i) => i.admin, ["api"], ["auto", "http", "forward"]);
  has(reg.handlers, (i) => i.keepsTargets, ["relay"], ["auto", "forward", "tcp", "socks5"]);
  has(reg.handlers, (i) => i.forwardDefault, ["forward"], ["tcp", "udp", "relay"]);
  has(reg.listeners, (i) => i.tls, ["tls"], ["tcp", "udp", "rtcp", "rudp"]);
  has(reg.listeners, (i) => i.remote, ["rtcp", "rudp"], ["tcp", "udp", "tls"]);
  has(reg.listeners, (i) => i.datagram, ["udp", "rudp"], ["tcp", "tls", "rtcp"]);
  deepEqual(["tcp", "udp", "tls", "rtcp", "rudp"].map((n) => reg.listeners.info(n)?.forwardHandler), [
    "tcp",
    "udp",
    undefined,
    "rtcp",
    "rudp",
  ]);
  has(reg.dialers, (i) => i.tls, ["tls"], ["tcp", "udp"]);
});

Deno.test("the CLI applies GOST's scheme rules from the built-in hints", () => {
  const k = known(createBuiltinRegistries());
  const rtcp = buildConfigFromCmd(["rtcp://:2222/127.0.0.1:22"], ["socks5://127.0.0.1:1080"], k).services![0];
  deepEqual([rtcp.handler!.type, rtcp.listener!.type, rtcp.listener!.chain, rtcp.handler!.chain], [
    "rtcp",
    "rtcp",
    "chain-0",
    undefined,
  ]);
  const relay = buildConfigFromCmd(["relay://:8421/10.0.0.1:80"], [], k).services![0];
  equal(relay.handler!.type, "relay");
  const tls = buildConfigFromCmd(["tls://:8443/10.0.0.1:80"], ["http://127.0.0.1:8080"], k).services![0];
  deepEqual([tls.handler!.type, tls.listener!.type, tls.handler!.chain], ["forward", "tls", "chain-0"]);
  const node = buildConfigFromCmd([":8080"], ["foo://a:1", "http+tls://b:443"], k).chains![0].hops!;
  deepEqual(node.map((h) => [h.nodes![0].connector!.type, h.nodes![0].dialer!.type, !!h.nodes![0].dialer!.tls]), [
    ["http", "tcp", false],
    ["http", "tls", true],
  ]);
});

Deno.test("a type registered with hints gets GOST's CLI rules without a change in core/", () => {
  const reg = createBuiltinRegistries();
  const seen: HandlerOptions[] = [];
  // as a Shadowsocks-like handler, a remote listener and a handler serving targets itself would register
  reg.handlers.register("sx", recordingHandler(seen), { defaultListener: "udp", base64UserInfo: true });
  reg.handlers.register("rx", recordingHandler(seen));
  reg.handlers.register("kx", recordingHandler(seen), { keepsTargets: true });
  reg.listeners.register("rx", reg.listeners.mustGet("tcp"), { remote: true, forwardHandler: "rx" });
  reg.connectors.register("sx", reg.connectors.mustGet("http"), { defaultDialer: "udp", base64UserInfo: true });
  const k = known(reg);
  const sx = buildConfigFromCmd([`sx://${btoa("aes-128-gcm:secret")}@:8338`], [], k).services![0];
  deepEqual([sx.handler!.type, sx.listener!.type, sx.handler!.auth], ["sx", "udp", {
    username: "aes-128-gcm",
    password: "secret",
  }]);
  const node = buildConfigFromCmd([":1"], [`sx://${btoa("m:k")}@a:1`], k).chains![0].hops![0].nodes![0];
  deepEqual([node.connector!.type, node.dialer!.type, node.connector!.auth], ["sx", "udp", {
    username: "m",
    password: "k",
  }]);
  const rx = buildConfigFromCmd(["rx://:2222/127.0.0.1:22"], ["relay://127.0.0.1:8421"], k).services![0];
  deepEqual([rx.handler!.type, rx.listener!.type, rx.listener!.chain], ["rx", "rx", "chain-0"]);
  equal(buildConfigFromCmd(["kx://:1/10.0.0.1:2"], [], k).services![0].handler!.type, "kx");
  // without the hint, the same scheme is plain: no base64 user info, tcp, and the chain on the handler
  const plain = createBuiltinRegistries();
  plain.handlers.register("sx", recordingHandler(seen));
  const p = buildConfigFromCmd([`sx://${btoa("m:k")}@:1`], [], known(plain)).services![0];
  deepEqual([p.listener!.type, p.handler!.auth], ["tcp", { username: btoa("m:k") }]);
});

Deno.test("config building reads fallbacks and addressless listeners from registrations", async () => {
  const reg = createBuiltinRegistries();
  const seen: HandlerOptions[] = [];
  reg.handlers.unregister("auto");
  reg.handlers.register("auto", recordingHandler(seen)); // no longer the fallback
  reg.handlers.register("mine", recordingHandler(seen), { fallback: true });
  const svc = await buildService({ name: "s", addr: "127.0.0.1:0" }, 0, { reg, logger: nopLogger });
  await svc.close();
  equal(seen.length, 1, "the fallback handler was built");
  throws(() => checkService({ name: "s" }, 0, { reg, logger: nopLogger }), /addr is required/);
  reg.listeners.register("pipe", reg.listeners.mustGet("tcp"), { addressless: true });
  equal(checkService({ name: "s", listener: { type: "pipe" } }, 0, { reg, logger: nopLogger }).listenerType, "pipe");
});

Deno.test("handlers get the raw credentials of the one inline user, not of a file or authers", async () => {
  const reg = createBuiltinRegistries();
  const seen: HandlerOptions[] = [];
  reg.handlers.register("rec", recordingHandler(seen));
  const ctx = { reg, logger: nopLogger };
  const build = async (handler: Record<string, unknown>) => {
    const svc = await buildService({ name: "s", addr: "127.0.0.1:0", handler: { type: "rec", ...handler } }, 0, ctx);
    await svc.close();
    return seen.at(-1)!;
  };
  const inline = await build({ auth: { username: "aes-256-gcm", password: "k:ey" } });
  deepEqual(inline.credentials, { username: "aes-256-gcm", password: "k:ey" });
  ok(inline.auth, "the authenticator is there too");
  deepEqual((await build({ auth: { username: "u" } })).credentials, { username: "u", password: "" });
  const cli = buildConfigFromCmd(["rec://m:p%40ss@127.0.0.1:0"], [], known(reg)).services![0];
  const svc = await buildService({ ...cli, name: "cli" }, 0, ctx);
  await svc.close();
  deepEqual(seen.at(-1)!.credentials, { username: "m", password: "p@ss" });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/users`, "a 1\n");
    const file = await build({ auth: { file: `${dir}/users` } });
    equal(file.credentials, undefined);
    ok(file.auth);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const named = await build({ auther: "x" });
  equal(named.credentials, undefined);
  equal((await build({})).credentials, undefined);
});

Deno.test("listener.tls on a listener that does not take TLS is warned about", async () => {
  const reg = createBuiltinRegistries();
  const sink = new MemorySink();
  const logger = new Logger(sink, "warn");
  const tlsBlock = { certFile: "none.pem", keyFile: "none.pem" };
  const svc = await buildService({ name: "s", addr: "127.0.0.1:0", listener: { type: "tcp", tls: tlsBlock } }, 0, {
    reg,
    logger,
  });
  await svc.close();
  equal(sink.lines.length, 1, sink.lines.join("\n"));
  match(sink.lines[0], /listener tcp does not use TLS: listener.tls of service s is ignored/);
  // a type registered with { tls: true } takes it (here: tcp's factory, which ignores it, so nothing fails)
  reg.listeners.register("tlsish", reg.listeners.mustGet("tcp"), { tls: true });
  const svc2 = await buildService(
    { name: "t", addr: "127.0.0.1:0", listener: { type: "tlsish", tls: tlsBlock } },
    0,
    { reg, logger },
  );
  await svc2.close();
  equal(sink.lines.length, 1, sink.lines.join("\n"));
});
