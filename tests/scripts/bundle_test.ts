/** The fix-ups scripts/bundle.ts applies to `deno bundle`'s output (the whole build runs in tests/distribution/). */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { foreignRequires, intoChunksDir, withBuiltinRequire } from "../../scripts/bundle.ts";

const SHIM =
  'var __defProp = Object.defineProperty;\nimport { createRequire as __deno_internal_createRequire } from "node:module";\n' +
  "var __require = __deno_internal_createRequire(import.meta.url);\nexport { __require };\n";

Deno.test("the require() shim asks process.getBuiltinModule, and nothing imports node:module", () => {
  const out = withBuiltinRequire(SHIM, "chunk-A.js");
  ok(!out.includes("node:module"), out);
  ok(out.includes("var __require = (id) => globalThis.process.getBuiltinModule(id);"), out);
  ok(out.startsWith("var __defProp"), "the rest is kept");
  const require = new Function(`${out.replace("export { __require };", "")}; return __require;`)();
  equal(typeof require("node:events").EventEmitter, "function");
});

Deno.test("a chunk without the shim is left as it is; an unexpected shim stops the build", () => {
  equal(withBuiltinRequire("export const a = 1;\n", "chunk-B.js"), "export const a = 1;\n");
  throws(() => withBuiltinRequire("var __require = __deno_internal_createRequire(x);", "chunk-C.js"), /chunk-C\.js/);
});

Deno.test("require() of anything but a node: built-in is reported", () => {
  deepEqual(foreignRequires('__require("node:fs"); __require("./x.js"); __require("lodash")'), ["./x.js", "lodash"]);
  deepEqual(foreignRequires('__require("node:http2")'), []);
});

Deno.test("the entry's imports point into chunks/; an import of a file the bundler did not write stops the build", () => {
  const names = new Set(["chunk-1.js", "app-2.js"]);
  const entry =
    'import {\n  a\n} from "./chunk-1.js";\nimport "./chunk-1.js";\nconst m = await import("./app-2.js");\n' +
    'export { b } from "./chunk-1.js";\nconst s = "./chunk-1.js";\nimport("node:tls");\n';
  equal(
    intoChunksDir(entry, names),
    'import {\n  a\n} from "./chunks/chunk-1.js";\nimport "./chunks/chunk-1.js";\nconst m = await import("./chunks/app-2.js");\n' +
      'export { b } from "./chunks/chunk-1.js";\nconst s = "./chunk-1.js";\nimport("node:tls");\n',
  );
  throws(() => intoChunksDir('import "./gone.js";', names), /\.\/gone\.js/);
});
