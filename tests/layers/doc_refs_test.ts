import { deepEqual } from "node:assert/strict";
import { brokenRefs, findDocRefs, headings } from "./doc_refs.ts";

Deno.test("doc references: citations are found across wrapped comment lines and checked against the headings", () => {
  const src = [
    "/**",
    ' * The relay (docs/wire.md, "Relay UDP"), sessions (docs/architecture.md, "Datagram',
    ' * sessions") and a gone one (docs/wire.md, "Old name").',
    " */",
    '// see docs/nope.md, "Anything"',
  ].join("\n");
  const refs = findDocRefs("core/x.ts", src);
  deepEqual(refs.map((r) => [r.line, r.doc, r.section]), [
    [2, "docs/wire.md", "Relay UDP"],
    [2, "docs/architecture.md", "Datagram sessions"],
    [3, "docs/wire.md", "Old name"],
    [5, "docs/nope.md", "Anything"],
  ]);
  const docs = new Map([
    ["docs/wire.md", headings("# Wire\n\n## Relay\n\n### Relay UDP\n")],
    ["docs/architecture.md", headings("## Datagram sessions\n")],
    ["docs/nope.md", undefined],
  ]);
  deepEqual(brokenRefs(refs, docs).map((r) => r.section), ["Old name", "Anything"]);
});
