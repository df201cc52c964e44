import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { mergeConfigs, parseConfig } from "../../../core/config/load.ts";
import { formatConfig } from "../../../core/config/output.ts";
import { buildConfigFromCmd } from "../../../core/config/from_cli.ts";
import { createBuiltinRegistries } from "../../../mod.ts";

Deno.test("a schema error names the path, the value and the source line", async () => {
  const yaml = `services:
  - name: a
    addr: :1
  - name: b
    addr: :2
    handler:
      type: 7
`;
  await rejects(() => parseConfig(yaml, "gost.yaml"), (err: Error) => {
    match(err.message, /^gost\.yaml: services\[1\]\.handler\.type at line 7: .*got 7/);
    return true;
  });
});

Deno.test("a YAML syntax error names the line and column", async () => {
  await rejects(() => parseConfig("services:\n  - name: a\n   addr: [", "x.yaml"), /x\.yaml at line \d+, column \d+/);
});

Deno.test("JSON configs parse with line numbers too", async () => {
  const json = '{\n  "services": [\n    {"name": "", "addr": ":1"}\n  ]\n}';
  await rejects(() => parseConfig(json, "x.json"), /services\[0\]\.name at line 3: name is required/);
});

Deno.test("unknown keys are kept, not rejected (gost-ui sends _id_)", async () => {
  const { config, unknownKeys } = await parseConfig("services:\n  - name: a\n    addr: :1\n    _id_: 3\nfoo: 1\n", "x");
  equal((config.services![0] as Record<string, unknown>)._id_, 3);
  deepEqual(unknownKeys, ["foo"]);
});

Deno.test("merging concatenates lists and replaces single blocks", async () => {
  const a = await parseConfig("services: [{name: a, addr: ':1'}]\nlog: {level: debug}\n", "a");
  const b = await parseConfig("services: [{name: b, addr: ':2'}]\nlog: {level: warn}\n", "b");
  const { config, origins } = mergeConfigs([a, b]);
  deepEqual(config.services!.map((s) => s.name), ["a", "b"]);
  equal(config.log!.level, "warn");
  equal(origins.get("services.1")![0].name, "b");
});

Deno.test("-O yaml and json output parse back to the same config", async () => {
  const known = {
    handlers: new Set(["auto", "http", "tcp"]),
    listeners: new Set(["tcp"]),
    info: createBuiltinRegistries(),
  };
  const cfg = buildConfigFromCmd(["http://u:p@:8080?foo=bar", "tcp://:2222/a:22"], ["socks5://x:1080"], known);
  for (const fmt of ["yaml", "json"] as const) {
    const text = formatConfig(cfg, fmt);
    deepEqual((await parseConfig(text, fmt)).config, JSON.parse(JSON.stringify(cfg)));
  }
});
