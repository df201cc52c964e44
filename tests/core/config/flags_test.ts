import { deepEqual, equal, throws } from "node:assert/strict";
import { parseFlags, splitGroups } from "../../../core/config/flags.ts";

Deno.test("flags follow Go semantics: repeatable, -x=v, --x v, bools", () => {
  const f = parseFlags([
    "-L",
    ":1",
    "--L=:2",
    "-F",
    "x:1",
    "-C",
    "a.yaml",
    "-D",
    "-api=:18080",
    "-metrics",
    ":9000",
    "-O",
    "json",
  ]);
  deepEqual(f.services, [":1", ":2"]);
  deepEqual(f.nodes, ["x:1"]);
  deepEqual(f.configs, ["a.yaml"]);
  equal(f.debug, true);
  equal(f.trace, false);
  equal(f.api, ":18080");
  equal(f.metrics, ":9000");
  equal(f.output, "json");
  equal(parseFlags(["-DD"]).trace, true);
  equal(parseFlags(["-D=false"]).debug, false);
  equal(parseFlags(["-V"]).version, true);
});

Deno.test("unknown flags are rejected as Go's flag package does", () => {
  throws(() => parseFlags(["-x"]), { message: "flag provided but not defined: -x" });
  throws(() => parseFlags(["-L"]), { message: "flag needs an argument: -L" });
  throws(() => parseFlags(["-O", "toml"]), /supported are yaml, json/);
  throws(() => parseFlags(["-D=maybe"]), /invalid boolean value/);
});

Deno.test("parsing stops at the first non-flag argument", () => {
  deepEqual(parseFlags(["-L", ":1", "stray", "-L", ":2"]).services, [":1"]);
});

Deno.test("argv splits into process groups at --", () => {
  deepEqual(splitGroups(["-L", ":1", "--", "-L", ":2"]), [["-L", ":1"], ["-L", ":2"]]);
});
