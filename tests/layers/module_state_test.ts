import { deepEqual, equal } from "node:assert/strict";
import { compareState, findModuleState, formatStateReport, parseStateList } from "./module_state.ts";

Deno.test("module state: top-level lets and empty collections are found, tables, locals and comments are not", () => {
  const src = [
    "let counter = 0;",
    "export let exported: string | undefined;",
    "const pending = new Set<Pending>();",
    "const byPort = new Map<number, Set<Promise<unknown>>>();",
    "const extra = new WeakMap<Reg, () => Iterable<X>>();",
    "const TIERS = [new BufferPool(16), new BufferPool(1024)];",
    'const CODES = new Set(["EPIPE"]);',
    "const LIMIT = 5;",
    "// let commented = 1;",
    "function f() {",
    "  let local = 1;",
    "}",
  ].join("\n");
  deepEqual(findModuleState("core/x.ts", src).map((b) => [b.name, b.line]), [
    ["counter", 1],
    ["exported", 2],
    ["pending", 3],
    ["byPort", 4],
    ["extra", 5],
    ["TIERS", 6],
  ]);
});

Deno.test("module state: the documented table allows what it lists and reports what is gone", () => {
  const md = [
    "# x",
    "## Module state",
    "| file | bindings | why |",
    "|---|---|---|",
    "| `core/a.ts` | `one`, `two` | reasons |",
    "| `core/b.ts` | `gone` | reasons |",
    "## Next",
    "| `core/c.ts` | `other` | not in the section |",
  ].join("\n");
  const listed = parseStateList(md);
  deepEqual(listed, [{ file: "core/a.ts", names: ["one", "two"] }, { file: "core/b.ts", names: ["gone"] }]);
  const found = [
    { file: "core/a.ts", name: "one", line: 1 },
    { file: "core/a.ts", name: "two", line: 2 },
    { file: "core/c.ts", name: "other", line: 3 },
  ];
  const r = compareState(found, listed);
  deepEqual(r.unlisted, [{ file: "core/c.ts", name: "other", line: 3 }]);
  deepEqual(r.stale, [{ file: "core/b.ts", name: "gone" }]);
  equal(formatStateReport(r).length, 4);
  deepEqual(formatStateReport(compareState(found.slice(0, 2), listed.slice(0, 1))), []);
});
