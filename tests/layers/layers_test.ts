import { deepEqual, equal, ok } from "node:assert/strict";
import {
  analyze,
  extractImports,
  failed,
  findProtocolNames,
  folderOf,
  formatReport,
  layerOf,
  LAYERS,
  type NameAllowance,
  PROTOCOL_NAMES_ALLOWED,
  protocolNames,
  resolveSpecifier,
  scanProtocolNames,
  unusedAllowances,
} from "./check.ts";

Deno.test("layer analysis finds a cycle and gives one path through it", () => {
  const a = analyze({
    "core/log.ts": ["core/log_rotate.ts", "core/errors.ts"],
    "core/log_rotate.ts": [{ to: "core/log.ts", typeOnly: true }],
    "core/errors.ts": [],
  });
  equal(a.cycles.length, 1);
  deepEqual(a.cycles[0].files, ["core/log.ts", "core/log_rotate.ts"]);
  deepEqual(a.cycles[0].path, ["core/log.ts", "core/log_rotate.ts", "core/log.ts"]);
  deepEqual(a.violations, []);
});

Deno.test("layer analysis finds a cycle of three files", () => {
  const a = analyze({
    "core/observe/metrics.ts": ["core/registries.ts"],
    "core/registries.ts": ["core/routing/chain.ts"],
    "core/routing/chain.ts": ["core/observe/metrics.ts"],
  });
  equal(a.cycles.length, 1);
  deepEqual(a.cycles[0].path, [
    "core/observe/metrics.ts",
    "core/registries.ts",
    "core/routing/chain.ts",
    "core/observe/metrics.ts",
  ]);
  // chain.ts (routing) -> metrics.ts (api+observe) goes up
  deepEqual(a.violations.map((v) => [v.from, v.to]), [["core/routing/chain.ts", "core/observe/metrics.ts"]]);
});

Deno.test("layer analysis finds an upward import without a cycle", () => {
  const a = analyze({
    "core/config/build.ts": [{ to: "core/runtime/objects.ts", line: 21 }],
    "core/runtime/objects.ts": ["core/config/schema.ts"],
    "core/config/schema.ts": [],
  });
  deepEqual(a.cycles, []);
  equal(a.violations.length, 1);
  deepEqual(a.violations[0], {
    from: "core/config/build.ts",
    fromLayer: "config",
    to: "core/runtime/objects.ts",
    toLayer: "runtime",
    typeOnly: false,
    line: 21,
  });
});

Deno.test("layer analysis: only the app layer imports handlers/ and listeners/, which import core but not the app", () => {
  const a = analyze({
    "main.ts": ["handlers/mod.ts", "listeners/mod.ts", "core/app.ts"],
    "core/app.ts": ["handlers/mod.ts"],
    "core/api/app.ts": ["handlers/mod.ts"],
    "handlers/mod.ts": ["core/registries.ts", "core/conn.ts", "listeners/tcp/listener.ts"],
    "listeners/mod.ts": ["core/observe/metrics.ts", "core/app.ts"],
    "listeners/tcp/listener.ts": [],
    "core/registries.ts": [],
    "core/conn.ts": [],
    "core/observe/metrics.ts": [],
  });
  deepEqual(a.violations.map((v) => [v.from, v.to]), [
    ["core/api/app.ts", "handlers/mod.ts"],
    ["listeners/mod.ts", "core/app.ts"],
  ]);
});

Deno.test("layer analysis passes a clean graph", () => {
  const a = analyze(
    new Map([
      ["main.ts", ["core/app.ts", "handlers/mod.ts"]],
      ["core/app.ts", ["core/runtime/runtime.ts", "core/api/server.ts"]],
      ["core/api/server.ts", ["core/runtime/runtime.ts", "core/observe/metrics.ts"]],
      ["core/observe/metrics.ts", ["core/registries.ts"]],
      ["core/runtime/runtime.ts", ["core/config/build.ts", "core/registries.ts"]],
      ["core/config/build.ts", ["core/service/service.ts", "core/log.ts"]],
      ["core/service/service.ts", ["core/routing/router.ts"]],
      ["core/routing/router.ts", ["core/relay.ts", "core/conn.ts"]],
      ["core/log.ts", ["core/errors.ts"]],
      ["handlers/mod.ts", ["core/registries.ts", "listeners/tcp/listener.ts"]],
      ["listeners/tcp/listener.ts", ["core/accept.ts"]],
    ]),
  );
  deepEqual(a.cycles, []);
  deepEqual(a.folderCycles, []);
  deepEqual(a.violations, []);
  deepEqual(a.unclassified, []);
  equal(a.files, 11);
});

Deno.test("layer analysis reports files no layer claims", () => {
  const a = analyze({ "core/app.ts": ["core/stray.ts"], "core/stray.ts": [] });
  deepEqual(a.unclassified, ["core/stray.ts"]);
  deepEqual(a.violations, []);
});

Deno.test("layer analysis finds a cycle between folders with no file cycle", () => {
  const a = analyze({
    "listeners/rtcp/listener.ts": ["listeners/rudp/packet_listener.ts"],
    "listeners/rudp/listener.ts": ["listeners/rtcp/listener.ts"],
    "listeners/rudp/packet_listener.ts": [],
  });
  deepEqual(a.cycles, []);
  equal(a.folderCycles.length, 1);
  deepEqual(a.folderCycles[0].folders, ["listeners/rtcp/", "listeners/rudp/"]);
  deepEqual(a.folderCycles[0].path.map((h) => h.via), [
    { from: "listeners/rtcp/listener.ts", to: "listeners/rudp/packet_listener.ts" },
    { from: "listeners/rudp/listener.ts", to: "listeners/rtcp/listener.ts" },
  ]);
  equal(folderOf("core/api/dashboard/routes.ts"), "core/api/");
  equal(folderOf("core/log.ts"), "core/log.ts");
});

Deno.test("layer check classifies files by the layer order", () => {
  equal(layerOf("core/errors.ts")?.name, "contracts");
  equal(layerOf("core/log_rotate.ts")?.name, "contracts");
  equal(layerOf("core/loggers.ts")?.name, "contracts");
  equal(layerOf("core/http1/head.ts")?.name, "net");
  equal(layerOf("core/http1/server.ts")?.name, "service");
  equal(layerOf("core/mux/frame.ts")?.name, "net");
  equal(layerOf("core/registries.ts")?.name, "service");
  equal(layerOf("core/api/dashboard/routes.ts")?.name, "api+observe");
  equal(layerOf("listeners/tcp/listener.ts")?.name, "plugins");
  equal(layerOf("mod.ts")?.name, "app");
  equal(layerOf("core/logx/a.ts"), undefined);
  ok(LAYERS.findIndex((l) => l.name === "contracts") < LAYERS.findIndex((l) => l.name === "app"));
});

Deno.test("layer check reads imports, exports-from and dynamic imports, not comments", () => {
  const src = [
    `import { a, type B } from "./a.ts";`,
    `import type { C } from "../c.ts";`,
    `import {`,
    `  d,`,
    `  e,`,
    `} from "./d.ts";`,
    `import * as ns from "./ns.ts";`,
    `import def, { f } from "./def.ts";`,
    `import "./side.ts";`,
    `export { g } from "./g.ts";`,
    `export type { H } from "./h.ts";`,
    `export * from "./all.ts";`,
    `import { type I, type J } from "./types.ts";`,
    `// import { no } from "./comment.ts";`,
    `/* export * from "./block.ts"; */`,
    `const url = "http://x/"; const re = /\\/\\*/; const later = () => import("npm:lazy@1");`,
    `export const x = 1;`,
  ].join("\n");
  const got = extractImports(src).map((i) => [i.specifier, i.typeOnly, i.dynamic, i.line]);
  deepEqual(got, [
    ["./a.ts", false, false, 1],
    ["../c.ts", true, false, 2],
    ["./d.ts", false, false, 3],
    ["./ns.ts", false, false, 7],
    ["./def.ts", false, false, 8],
    ["./side.ts", false, false, 9],
    ["./g.ts", false, false, 10],
    ["./h.ts", true, false, 11],
    ["./all.ts", false, false, 12],
    ["./types.ts", true, false, 13],
    ["npm:lazy@1", false, true, 16],
  ]);
  equal(resolveSpecifier("core/config/build.ts", "../runtime/objects.ts"), "core/runtime/objects.ts");
  equal(resolveSpecifier("main.ts", "./core/app.ts"), "core/app.ts");
  equal(resolveSpecifier("core/log.ts", "node:fs"), undefined);
});

Deno.test("protocol-name rule: string literals equal to a type name, not comments, parts or substitutions", () => {
  const names = new Set(["http", "tcp", "relay"]);
  const src = [
    `// handler "http" in a comment`,
    `/* "relay" */ const t = cfg.type || "http";`,
    `const u = "http://x", v = 'relay', w = \`tcp\`;`,
    `const x = \`\${t}\`, y = "https", z = "relay+tls", tcp = 1;`,
    `const re = /"tcp"/;`,
  ].join("\n");
  deepEqual(findProtocolNames("core/config/x.ts", src, names, []).map((h) => [h.line, h.name]), [
    [2, "http"],
    [3, "relay"],
    [3, "tcp"],
  ]);
  const allowed: NameAllowance[] = [{ names: ["tcp"], files: ["core/config/"], reason: "test" }];
  deepEqual(findProtocolNames("core/config/x.ts", src, names, allowed).map((h) => h.name), ["http", "relay"]);
  deepEqual(findProtocolNames("core/routing/x.ts", src, names, allowed).length, 3);
  const all: NameAllowance[] = [{ names: ["*"], files: ["core/config/x.ts"], reason: "test" }];
  deepEqual(findProtocolNames("core/config/x.ts", src, names, all), []);
});

Deno.test("protocol-name rule: an allowance nothing needs is reported, file by file", () => {
  const allowed: NameAllowance[] = [
    { names: ["tcp", "udp"], files: ["core/conn.ts", "core/routing/"], reason: "network names" },
    { names: ["*"], files: ["core/config/gost_names.ts"], reason: "catalogue" },
  ];
  const raw = [{ file: "core/routing/router.ts", line: 3, name: "udp" }];
  deepEqual(unusedAllowances(raw, allowed).map((a) => [a.names, a.files]), [
    [["tcp", "udp"], ["core/conn.ts"]],
    [["*"], ["core/config/gost_names.ts"]],
  ]);
  for (const a of PROTOCOL_NAMES_ALLOWED) ok(a.reason.length > 10, `a reason for ${a.names} in ${a.files}`);
});

Deno.test("protocol-name rule fails the check and is in the report", () => {
  const scan = { graph: new Map(), dynamic: [], unresolved: [], external: 0 };
  const a = analyze({});
  const hits = [{ file: "core/config/build.ts", line: 9, name: "socks5" }];
  equal(failed(scan, a, { hits: [], unused: [] }), false);
  equal(failed(scan, a, { hits, unused: [] }), true);
  equal(failed(scan, a, { hits: [], unused: [PROTOCOL_NAMES_ALLOWED[0]] }), true);
  const report = formatReport(scan, a, { hits, unused: [] });
  ok(report.includes(`core/config/build.ts:9 "socks5"`), report);
  ok(report.includes("1 protocol names"), report);
});

Deno.test("protocol-name rule: the names are the built-in registrations and plugin folders", async () => {
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  const names = await protocolNames(root);
  for (const n of ["auto", "http", "socks", "socks4a", "socks5", "relay", "forward", "tcp", "udp", "tls", "rtcp"]) {
    ok(names.has(n), n);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/core/config`, { recursive: true });
    await Deno.writeTextFile(`${dir}/core/config/x.ts`, `export const d = "socks5"; // "http"\n`);
    const { hits } = await scanProtocolNames(dir, names, ["core/"], []);
    deepEqual(hits, [{ file: "core/config/x.ts", line: 1, name: "socks5" }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
