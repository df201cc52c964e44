import { deepEqual, equal, throws } from "node:assert/strict";
import { buildConfigFromCmd } from "../../../core/config/from_cli.ts";
import { parseNodeUrl } from "../../../core/config/node_url.ts";
import { createBuiltinRegistries } from "../../../mod.ts";

// the types this build "implements" are a subset, to test the errors; their hints come from the real registrations
const known = {
  handlers: new Set(["auto", "http", "socks4", "socks4a", "socks5", "socks", "tcp", "udp", "forward"]),
  listeners: new Set(["tcp", "udp"]),
  info: createBuiltinRegistries(),
};

Deno.test("node URL without a scheme is auto, https is http+tls", () => {
  equal(parseNodeUrl(":8080").scheme, "auto");
  equal(parseNodeUrl("127.0.0.1:8080").scheme, "auto");
  equal(parseNodeUrl("https://a:443").scheme, "http+tls");
  deepEqual(parseNodeUrl("socks5://u:p%40ss@:1080/x:1,y:2?udp=true&udp=false").user, {
    username: "u",
    password: "p@ss",
  });
  deepEqual(parseNodeUrl("socks5://u:p@:1080/x:1,y:2?udp=true&udp=false").query, { udp: "true" });
  equal(parseNodeUrl("tcp://:8080/a:1,b:2").path, "a:1,b:2");
});

Deno.test("-L :8080 builds an auto service named service-0 on tcp", () => {
  deepEqual(buildConfigFromCmd([":8080"], [], known), {
    services: [{ name: "service-0", addr: ":8080", handler: { type: "auto" }, listener: { type: "tcp" } }],
  });
});

Deno.test("-L scheme falls back as GOST: http → http+tcp, user info becomes handler.auth", () => {
  const cfg = buildConfigFromCmd(
    ["http://u:p@127.0.0.1:8080?readTimeout=5s&handler.foo=1&listener.bar=2&service.baz=3"],
    [],
    known,
  );
  deepEqual(cfg.services![0], {
    name: "service-0",
    addr: "127.0.0.1:8080",
    handler: { type: "http", auth: { username: "u", password: "p" }, metadata: { readTimeout: "5s", foo: "1" } },
    listener: { type: "tcp", metadata: { readTimeout: "5s", bar: "2" } },
    metadata: { readTimeout: "5s", baz: "3" },
  });
});

Deno.test("-L with targets becomes a forward service with target-N nodes and a selector", () => {
  const cfg = buildConfigFromCmd(["tcp://:2222/10.0.0.1:22,10.0.0.2:22?strategy=fifo"], [], known);
  deepEqual(cfg.services![0].forwarder, {
    selector: { strategy: "fifo", maxFails: 1, failTimeout: "30s" },
    nodes: [{ name: "target-0", addr: "10.0.0.1:22" }, { name: "target-1", addr: "10.0.0.2:22" }],
  });
  equal(cfg.services![0].handler!.type, "tcp");
  equal(buildConfigFromCmd(["udp://:53/1.1.1.1:53"], [], known).services![0].listener!.type, "udp");
});

Deno.test("port ranges expand into services paired 1:1 with targets", () => {
  const cfg = buildConfigFromCmd(["tcp://:8000-8002/10.0.0.1:9000-9002"], [], known);
  deepEqual(cfg.services!.map((s) => [s.name, s.addr, s.forwarder!.nodes![0].addr]), [
    ["service-0", ":8000", "10.0.0.1:9000"],
    ["service-1", ":8001", "10.0.0.1:9001"],
    ["service-2", ":8002", "10.0.0.1:9002"],
  ]);
});

Deno.test("-F nodes form chain-0 with one hop per -F and node-N per host", () => {
  const cfg = buildConfigFromCmd([":8080"], ["socks5://u:p@a:1080,b:1080?notls=true", "relay+tls://c:443"], known);
  equal(cfg.services![0].handler!.chain, "chain-0");
  const hops = cfg.chains![0].hops!;
  deepEqual(hops.map((h) => h.name), ["hop-0", "hop-1"]);
  deepEqual(hops[0].nodes!.map((n) => [n.name, n.addr, n.connector!.type, n.dialer!.type]), [
    ["node-0", "a:1080", "socks5", "tcp"],
    ["node-1", "b:1080", "socks5", "tcp"],
  ]);
  deepEqual(hops[0].nodes![0].connector!.auth, { username: "u", password: "p" });
  deepEqual([hops[1].nodes![0].connector!.type, hops[1].nodes![0].dialer!.type], ["relay", "tls"]);
  equal(hops[1].nodes![0].dialer!.tls!.serverName, "c");
});

Deno.test("query keys create bypass, admission, hosts and limiter objects", () => {
  const cfg = buildConfigFromCmd(
    [":8080?bypass=~a.com,.b.org&admission=127.0.0.1&hosts=x:1.2.3.4&climiter=10&retries=2"],
    [],
    known,
  );
  deepEqual(cfg.bypasses, [{ name: "bypass-0", whitelist: true, matchers: ["a.com", ".b.org"] }]);
  deepEqual(cfg.admissions, [{ name: "admission-0", matchers: ["127.0.0.1"] }]);
  deepEqual(cfg.hosts, [{ name: "hosts-0", mappings: [{ hostname: "x", ip: "1.2.3.4" }] }]);
  deepEqual(cfg.climiters, [{ name: "climiter-0", limits: ["$ 10"] }]);
  const svc = cfg.services![0];
  deepEqual([svc.bypass, svc.admission, svc.hosts, svc.climiter, svc.handler!.retries], [
    "bypass-0",
    "admission-0",
    "hosts-0",
    "climiter-0",
    2,
  ]);
  equal(svc.handler!.metadata, undefined);
});

Deno.test("a GOST transport gost.ts lacks is an error, not a silent fallback", () => {
  throws(
    () => buildConfigFromCmd(["relay+wss://:443"], [], known),
    /handler type "relay" is not supported by gost.ts yet/,
  );
  throws(() => buildConfigFromCmd(["icmp://:80"], [], known), /listener type "icmp" is not supported/);
  throws(() => buildConfigFromCmd(["tcp://:80-70/x:1"], [], known), /Invalid port range/);
});

Deno.test("auth query parameter is base64 user:pass", () => {
  const cfg = buildConfigFromCmd([`http://:8080?auth=${btoa("u:p@ss:x")}`], [], known);
  deepEqual(cfg.services![0].handler!.auth, { username: "u", password: "p@ss:x" });
});
