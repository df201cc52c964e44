// Doc references check: every code comment that cites a section, `docs/<file>.md, "<Section>"`, names a heading
// that exists in that file (a moved or renamed section fails `deno task layers`).

/** One citation found in a source file. */
export interface DocRef {
  readonly file: string;
  readonly line: number;
  readonly doc: string;
  readonly section: string;
}

const CITE = /docs\/([\w-]+\.md), "([^"]+)"/g;

/** The section citations in one source file (comments wrap: a citation may span a line break and a `*`). */
export function findDocRefs(file: string, source: string): DocRef[] {
  const out: DocRef[] = [];
  // join wrapped comment lines so `"Datagram\n * sessions"` reads as one citation; keep line numbers of the start
  const joined = source.replace(/\n\s*(?:\*|\/\/)\s?/g, (m) => " ".repeat(m.length));
  for (const m of joined.matchAll(CITE)) {
    const line = source.slice(0, m.index).split("\n").length;
    out.push({ file, line, doc: `docs/${m[1]}`, section: m[2].replace(/\s+/g, " ") });
  }
  return out;
}

/** The headings (`#` to `####`) of a markdown text, without the hashes. */
export function headings(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,4}\s+(.+?)\s*$/gm)].map((m) => m[1]));
}

/** The citations whose doc is missing or has no such heading. */
export function brokenRefs(refs: readonly DocRef[], docs: ReadonlyMap<string, Set<string> | undefined>): DocRef[] {
  return refs.filter((r) => !docs.get(r.doc)?.has(r.section));
}
