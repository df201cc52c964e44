// Layer check for core/, handlers/ and listeners/ (issue 11, "Enforced layers in core/"): reads the static imports
// and exports-from of every .ts file, reports the import cycles among files and every import that goes up the layer
// order in LAYERS. `deno task layers`; exits 1 when it finds a cycle, an upward import or a file no layer claims,
// or a string literal in core/ that names a registered protocol or transport (issue 11 §3: a registration carries
// capabilities and hints, core/capabilities.ts, so core/ names no protocol; PROTOCOL_NAMES_ALLOWED lists the
// exceptions). No dependencies: a regex over the source with its comments blanked out; the names come from the
// built-in registries (mod.ts) and the folders of handlers/ and listeners/.

/** One layer: the files it holds (exact paths, folders ending in "/", or a prefix ending in "*.ts"). */
export interface LayerSpec {
  readonly name: string;
  readonly files: readonly string[];
  /** When set, only these layers (and the layer itself) may import it, whatever their rank. */
  readonly importableBy?: readonly string[];
  /** When set, the highest layer this one may import (instead of "any layer below or its own"). */
  readonly mayImportUpTo?: string;
}

/**
 * The layer order, bottom to top: a file may import files of its own layer and of the layers below. handlers/ and
 * listeners/ ("plugins") may import all of core (the api handler serves core/api), and only the app layer may
 * import them. An exact path claims a file before a folder does (core/http1/server.ts is service, the rest of
 * core/http1/ net).
 */
export const LAYERS: readonly LayerSpec[] = [
  {
    name: "contracts",
    files: [
      "core/conn.ts",
      "core/errors.ts",
      "core/metadata.ts",
      "core/registry.ts",
      "core/capabilities.ts",
      "core/contracts.ts",
      "core/bytes.ts",
      "core/ip.ts",
      "core/version.ts",
      "core/permissions.ts",
      "core/log*.ts",
    ],
  },
  {
    name: "net",
    files: [
      "core/bufio.ts",
      "core/deadline.ts",
      "core/relay.ts",
      "core/udp.ts",
      "core/accept.ts",
      "core/deps/",
      "core/process_guard.ts",
      "core/tls_client_hello.ts",
      "core/http1/",
      "core/mux/",
    ],
  },
  { name: "routing", files: ["core/routing/"] },
  { name: "service", files: ["core/service/", "core/registries.ts", "core/http1/server.ts"] },
  { name: "config", files: ["core/config/"] },
  { name: "runtime", files: ["core/runtime/"] },
  { name: "plugins", files: ["handlers/", "listeners/"], importableBy: ["app"], mayImportUpTo: "api+observe" },
  { name: "api+observe", files: ["core/api/", "core/observe/"] },
  { name: "app", files: ["core/app.ts", "main.ts", "mod.ts"] },
];

/** What the check scans, relative to the repository root. */
export const ROOTS: readonly string[] = ["core/", "handlers/", "listeners/", "main.ts", "mod.ts"];

/** One import: the file it resolves to (repository-relative), whether it is type-only, and where it is. */
export interface ImportRef {
  readonly to: string;
  readonly typeOnly?: boolean;
  readonly line?: number;
  readonly specifier?: string;
}

export interface Cycle {
  /** The files of one strongly connected component, sorted. */
  readonly files: string[];
  /** One cycle through them: the first file again at the end. */
  readonly path: string[];
}

export interface Violation {
  readonly from: string;
  readonly fromLayer: string;
  readonly to: string;
  readonly toLayer: string;
  readonly typeOnly: boolean;
  readonly line?: number;
}

/** One hop of a folder cycle: the folders and one import that makes it. */
export interface FolderHop {
  readonly from: string;
  readonly to: string;
  readonly via: { readonly from: string; readonly to: string };
}

export interface FolderCycle {
  /** The folders of one strongly connected component of the folder graph, sorted. */
  readonly folders: string[];
  /** One cycle through them, each hop with an import that makes it. */
  readonly path: FolderHop[];
}

export interface Analysis {
  readonly files: number;
  readonly imports: number;
  readonly cycles: Cycle[];
  /** Cycles among folders that no file cycle explains (e.g. a/x.ts -> b/y.ts and b/z.ts -> a/w.ts). */
  readonly folderCycles: FolderCycle[];
  readonly violations: Violation[];
  /** Files (importers or imported) that no layer claims. */
  readonly unclassified: string[];
}

/** The layer of a repository-relative path, or undefined: an exact path claims a file before any folder or prefix. */
export function layerOf(file: string, layers: readonly LayerSpec[] = LAYERS): LayerSpec | undefined {
  const exact = layers.find((layer) => layer.files.includes(file));
  if (exact) return exact;
  for (const layer of layers) {
    for (const pattern of layer.files) {
      if (pattern.endsWith("/") ? file.startsWith(pattern) : matchesPattern(file, pattern)) return layer;
    }
  }
  return undefined;
}

function matchesPattern(file: string, pattern: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return file === pattern;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  if (!file.startsWith(head) || !file.endsWith(tail) || file.length < head.length + tail.length) return false;
  return !file.slice(head.length, file.length - tail.length).includes("/");
}

/** Whether a file of layer `from` may import a file of layer `to`. */
export function mayImport(from: LayerSpec, to: LayerSpec, layers: readonly LayerSpec[] = LAYERS): boolean {
  if (from.name === to.name) return true;
  const rank = (l: LayerSpec) => layers.findIndex((x) => x.name === l.name);
  if (to.importableBy && !to.importableBy.includes(from.name)) return false;
  const ceiling = from.mayImportUpTo === undefined
    ? rank(from)
    : layers.findIndex((x) => x.name === from.mayImportUpTo);
  return rank(to) <= ceiling;
}

const asRef = (r: string | ImportRef): ImportRef => typeof r === "string" ? { to: r } : r;

/**
 * The folder a file counts in for folder cycles: its folder under core/, handlers/ or listeners/ with the folders
 * inside it (core/api/dashboard/x.ts is in core/api/), while a file directly under those (or at the root) is a unit
 * of its own, since those files belong to different layers.
 */
export function folderOf(file: string): string {
  const parts = file.split("/");
  return parts.length <= 2 ? file : `${parts[0]}/${parts[1]}/`;
}

/**
 * The analysis, pure: `graph` maps each file (repository-relative) to what it imports (resolved files). Reports the
 * strongly connected components of more than one file (with one cycle path each), the imports against `layers`, and
 * the files no layer claims.
 */
export function analyze(
  graph: ReadonlyMap<string, readonly (string | ImportRef)[]> | Record<string, readonly (string | ImportRef)[]>,
  layers: readonly LayerSpec[] = LAYERS,
): Analysis {
  const entries = graph instanceof Map ? [...graph.entries()] : Object.entries(graph);
  const edges = new Map<string, ImportRef[]>();
  for (const [file, refs] of entries) edges.set(file, refs.map(asRef));
  const nodes = new Set<string>(edges.keys());
  for (const refs of edges.values()) for (const r of refs) nodes.add(r.to);
  const next = (n: string) => [...new Set((edges.get(n) ?? []).map((r) => r.to))].sort();

  const cycles = stronglyConnected([...nodes].sort(), next)
    .filter((c) => c.length > 1 || next(c[0]).includes(c[0]))
    .map((c) => ({ files: [...c].sort(), path: cyclePath(new Set(c), [...c].sort()[0], next) }))
    .sort((a, b) => b.files.length - a.files.length || a.files[0].localeCompare(b.files[0]));

  const folderEdges = new Map<string, Map<string, { from: string; to: string }>>();
  for (const [from, refs] of edges) {
    for (const r of refs) {
      const a = folderOf(from);
      const b = folderOf(r.to);
      if (a === b) continue;
      const out = folderEdges.get(a) ?? new Map();
      if (!out.has(b) || from.localeCompare(out.get(b).from) < 0) out.set(b, { from, to: r.to });
      folderEdges.set(a, out);
    }
  }
  const folderNext = (f: string) => [...(folderEdges.get(f)?.keys() ?? [])].sort();
  const folders = [...new Set([...nodes].map(folderOf))].sort();
  const folderCycles = stronglyConnected(folders, folderNext)
    // a component of single files only is a file cycle, already reported
    .filter((c) => c.length > 1 && c.some((f) => f.endsWith("/")))
    .map((c) => {
      const sorted = [...c].sort();
      const path = cyclePath(new Set(c), sorted[0], folderNext);
      const hops = path.slice(1).map((to, i) => ({ from: path[i], to, via: folderEdges.get(path[i])!.get(to)! }));
      return { folders: sorted, path: hops };
    })
    .sort((a, b) => b.folders.length - a.folders.length || a.folders[0].localeCompare(b.folders[0]));

  const violations: Violation[] = [];
  const unclassified = new Set<string>();
  for (const [from, refs] of [...edges.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const fromLayer = layerOf(from, layers);
    if (!fromLayer) unclassified.add(from);
    for (const r of refs) {
      const toLayer = layerOf(r.to, layers);
      if (!toLayer) unclassified.add(r.to);
      if (!fromLayer || !toLayer || mayImport(fromLayer, toLayer, layers)) continue;
      violations.push({
        from,
        fromLayer: fromLayer.name,
        to: r.to,
        toLayer: toLayer.name,
        typeOnly: r.typeOnly ?? false,
        line: r.line,
      });
    }
  }
  const imports = [...edges.values()].reduce((n, refs) => n + refs.length, 0);
  return { files: edges.size, imports, cycles, folderCycles, violations, unclassified: [...unclassified].sort() };
}

// Tarjan's algorithm, iterative (no recursion depth limit).
function stronglyConnected(nodes: string[], next: (n: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; succ: string[]; i: number }[] = [];
    const enter = (n: string) => {
      index.set(n, counter);
      low.set(n, counter++);
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, succ: next(n), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (top.i < top.succ.length) {
        const s = top.succ[top.i++];
        if (!index.has(s)) enter(s);
        else if (onStack.has(s)) low.set(top.node, Math.min(low.get(top.node)!, index.get(s)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        out.push(component);
      }
    }
  }
  return out;
}

// The shortest cycle through `start` inside one component (breadth-first).
function cyclePath(component: Set<string>, start: string, next: (n: string) => string[]): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const s of next(n)) {
      if (!component.has(s)) continue;
      if (s === start) {
        const back: string[] = [];
        for (let at = n; at !== start; at = prev.get(at)!) back.push(at);
        return [start, ...back.reverse(), start];
      }
      if (!prev.has(s)) {
        prev.set(s, n);
        queue.push(s);
      }
    }
  }
  return [start];
}

/**
 * Source with comments blanked (newlines kept, so line numbers hold); strings and regex literals left as they are.
 * @param onString called with each string literal's text between its quotes, as written, and its offset
 */
export function stripComments(src: string, onString?: (text: string, at: number) => void): string {
  let out = "";
  let i = 0;
  let last = ""; // last significant character outside comments, to tell a regex literal from a division
  while (i < src.length) {
    const c = src[i];
    const d = src[i + 1];
    if (c === "/" && d === "/") {
      while (i < src.length && src[i] !== "\n") {
        out += " ";
        i++;
      }
      continue;
    }
    if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\") j++;
        else if (c !== "`" && src[j] === "\n") break;
        j++;
      }
      onString?.(src.slice(i + 1, j), i);
      out += src.slice(i, j + 1);
      i = j + 1;
      last = c;
      continue;
    }
    if (c === "/" && (last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last) || /\b(return|typeof|case)$/.test(out))) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      last = "/";
      continue;
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}

/** A static import or export-from, or a dynamic import(), as written. */
export interface RawImport {
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
  readonly line: number;
}

const NAME = String.raw`[\w$]+`;
const BRACES = String.raw`\{[^}]*\}`;
const CLAUSE = String.raw`(?:${NAME}\s*,\s*(?:${BRACES}|\*\s*as\s+${NAME})|\*\s*as\s+${NAME}|${BRACES}|${NAME})`;
const STATIC_IMPORT = new RegExp(String.raw`\bimport\s+(type\s+)?(${CLAUSE})\s*from\s*(["'])([^"'\n]+)\3`, "g");
const SIDE_EFFECT_IMPORT = /\bimport\s*(["'])([^"'\n]+)\1/g;
const EXPORT_FROM = new RegExp(
  String.raw`\bexport\s+(type\s+)?(\*(?:\s*as\s+${NAME})?|${BRACES})\s*from\s*(["'])([^"'\n]+)\3`,
  "g",
);
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(?:(["'`])([^"'`]+)\1)?/g;

/** The imports of one source file. */
export function extractImports(source: string): RawImport[] {
  const src = stripComments(source);
  const lineAt = (at: number) => src.slice(0, at).split("\n").length;
  const out: RawImport[] = [];
  const allTypes = (clause: string) => {
    const m = clause.match(/^\{([^}]*)\}$/);
    if (!m) return false;
    const names = m[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
    return names.length > 0 && names.every((s) => s.startsWith("type "));
  };
  for (const m of src.matchAll(STATIC_IMPORT)) {
    out.push({ specifier: m[4], typeOnly: !!m[1] || allTypes(m[2]), dynamic: false, line: lineAt(m.index!) });
  }
  for (const m of src.matchAll(SIDE_EFFECT_IMPORT)) {
    out.push({ specifier: m[2], typeOnly: false, dynamic: false, line: lineAt(m.index!) });
  }
  for (const m of src.matchAll(EXPORT_FROM)) {
    out.push({ specifier: m[4], typeOnly: !!m[1] || allTypes(m[2]), dynamic: false, line: lineAt(m.index!) });
  }
  for (const m of src.matchAll(DYNAMIC_IMPORT)) {
    out.push({ specifier: m[2] ?? "(not a literal)", typeOnly: false, dynamic: true, line: lineAt(m.index!) });
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Resolves a relative specifier against the importing file (both repository-relative); undefined when not relative. */
export function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "." || part === "") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  for await (const entry of Deno.readDir(`${root}/${dir}`)) {
    const rel = `${dir}${entry.name}`;
    if (entry.isDirectory) await walk(root, `${rel}/`, out);
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(rel);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

export interface TreeScan {
  readonly graph: Map<string, ImportRef[]>;
  readonly dynamic: { from: string; specifier: string; line: number }[];
  readonly unresolved: { from: string; specifier: string; line: number }[];
  readonly external: number;
}

/** Reads the files under ROOTS of the repository at `root` into an import graph. */
export async function scanTree(root: string, roots: readonly string[] = ROOTS): Promise<TreeScan> {
  const files: string[] = [];
  for (const r of roots) {
    if (r.endsWith("/")) await walk(root, r, files);
    else if (await exists(`${root}/${r}`)) files.push(r);
  }
  files.sort();
  const graph = new Map<string, ImportRef[]>();
  const dynamic: TreeScan["dynamic"] = [];
  const unresolved: TreeScan["unresolved"] = [];
  let external = 0;
  for (const file of files) {
    const refs: ImportRef[] = [];
    for (const imp of extractImports(await Deno.readTextFile(`${root}/${file}`))) {
      const to = resolveSpecifier(file, imp.specifier);
      if (imp.dynamic) {
        dynamic.push({ from: file, specifier: imp.specifier, line: imp.line });
        continue;
      }
      if (to === undefined) {
        external++;
        continue;
      }
      if (!(await exists(`${root}/${to}`))) {
        unresolved.push({ from: file, specifier: imp.specifier, line: imp.line });
        continue;
      }
      refs.push({ to, typeOnly: imp.typeOnly, line: imp.line, specifier: imp.specifier });
    }
    graph.set(file, refs);
  }
  return { graph, dynamic, unresolved, external };
}

/** Files under core/ whose string literals may equal some protocol names, and why. */
export interface NameAllowance {
  /** The names allowed. */
  readonly names: readonly string[];
  /** Where (exact paths, folders ending in "/", or a prefix ending in "*.ts", as in LAYERS). */
  readonly files: readonly string[];
  /** Why these literals do not name a protocol there. */
  readonly reason: string;
}

/** The scope of the protocol-name rule. */
export const NAME_ROOTS: readonly string[] = ["core/"];

/** The exceptions to the protocol-name rule: each one a use that is not a plugin type, with its reason. */
export const PROTOCOL_NAMES_ALLOWED: readonly NameAllowance[] = [
  {
    names: ["tcp", "udp"],
    files: [
      "core/conn.ts",
      "core/udp.ts",
      "core/http1/listener.ts",
      "core/http1/server.ts",
      "core/routing/",
      "core/runtime/objects.ts",
    ],
    reason: "network names (Deno's transport, a conn's or a node's network, a bypass's network), not listener types",
  },
  {
    names: ["tls", "http"],
    files: ["core/routing/dns_exchange.ts"],
    reason: "a nameserver's DNS transport (DNS over TLS, over HTTPS), not a plugin type",
  },
  {
    names: ["dns"],
    files: ["core/errors.ts"],
    reason: "a dial failure's kind (the name did not resolve), not the dns handler or listener",
  },
  {
    names: ["http", "grpc"],
    files: ["core/observe/mod.ts"],
    reason: "the type of an observer plugin (HTTP or gRPC), not a handler or a transport",
  },
  {
    names: ["http", "tls"],
    files: ["core/config/forward_node.ts"],
    reason: "a forwarder node's config keys (`http`, `tls`), not plugin types",
  },
  {
    names: ["tls", "api"],
    files: ["core/config/types.ts", "core/config/flags.ts"],
    reason: "config keys (top-level `tls`/`api`) and the -api flag, not plugin types",
  },
  {
    names: ["udp", "relay", "tcp", "tunnel", "dns"],
    files: ["core/config/gost_keys.ts"],
    reason: "GOST's metadata keys (`udp` of the socks5 and http handlers, `relay` of the socks5 connector, `tcp` of " +
      "kcp, `tunnel` of the tunnel handler, `dns` (the nameservers) of the dns handler), not types",
  },
  {
    names: ["file"],
    files: [
      "core/config/build.ts",
      "core/config/build_chain.ts",
      "core/config/forward_node.ts",
      "core/routing/file_source.ts",
    ],
    reason: "the `file` config key of GOST's file data sources (auth files, node files) in error paths, not the file " +
      "handler",
  },
  {
    names: ["http"],
    files: ["core/api/openapi.ts"],
    reason: "OpenAPI's security scheme type (HTTP Basic), not a handler",
  },
  {
    names: ["http"],
    files: ["core/routing/auther.ts", "core/config/refused.ts"],
    reason: "GOST's HTTP data source of authers, bypasses, hosts, … (a config key refused by name), not a handler",
  },
  {
    names: ["metrics"],
    files: ["core/app.ts", "core/config/flags.ts", "core/config/types.ts", "core/observe/"],
    reason: "the global metrics server (top-level `metrics` block, the -metrics flag, its log kind), not the metrics " +
      "handler",
  },
  {
    names: ["api"],
    files: ["core/api/", "core/app.ts"],
    reason: "the global Web API server's own name (log kind, config block, self-target endpoint), not the api handler",
  },
  {
    names: ["*"],
    files: ["core/config/gost_names.ts"],
    reason: "GOST's catalogue of every type name it registers, implemented here or not: the CLI tells a GOST type " +
      "gost.ts lacks from a foreign scheme with it; implementing a type does not change it",
  },
];

/** A string literal in core/ equal to a protocol name. */
export interface NameHit {
  readonly file: string;
  readonly line: number;
  readonly name: string;
}

function matchesFiles(file: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p.endsWith("/") ? file.startsWith(p) : matchesPattern(file, p));
}

/**
 * The string literals of `source` (comments skipped) equal to one of `names`, except where `allowed` lets them be.
 * A template literal counts only when it has no substitution.
 */
export function findProtocolNames(
  file: string,
  source: string,
  names: ReadonlySet<string>,
  allowed: readonly NameAllowance[] = PROTOCOL_NAMES_ALLOWED,
): NameHit[] {
  const here = allowed.filter((a) => matchesFiles(file, a.files));
  if (here.some((a) => a.names.includes("*"))) return [];
  const ok = new Set(here.flatMap((a) => a.names));
  const hits: NameHit[] = [];
  stripComments(source, (text, at) => {
    if (!names.has(text) || ok.has(text)) return;
    hits.push({ file, line: source.slice(0, at).split("\n").length, name: text });
  });
  return hits;
}

/**
 * The protocol names of a repository: every type registered by its built-ins (`createBuiltinRegistries()` of
 * mod.ts) and the folder names under handlers/ and listeners/.
 */
export async function protocolNames(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  const mod = await import(new URL(`file://${root}/mod.ts`).href);
  const reg = mod.createBuiltinRegistries();
  for (const kind of ["handlers", "listeners", "dialers", "connectors"]) {
    for (const n of reg[kind].names() as string[]) names.add(n);
  }
  for (const dir of ["handlers", "listeners"]) {
    for await (const e of Deno.readDir(`${root}/${dir}`)) if (e.isDirectory) names.add(e.name);
  }
  return names;
}

/**
 * The parts of allowances no literal of `raw` (the hits found with no allowance) needs, one per file pattern: to be
 * removed, so the list stays small.
 */
export function unusedAllowances(
  raw: readonly NameHit[],
  allowed: readonly NameAllowance[] = PROTOCOL_NAMES_ALLOWED,
): NameAllowance[] {
  return allowed.flatMap((a) =>
    a.files.filter((f) =>
      !raw.some((h) => matchesFiles(h.file, [f]) && (a.names.includes("*") || a.names.includes(h.name)))
    ).map((f) => ({ ...a, files: [f] }))
  );
}

/** What the protocol-name rule found: the literals against it, and the allowances nothing needs. */
export interface NameScan {
  readonly hits: NameHit[];
  readonly unused: NameAllowance[];
}

/** Scans the .ts files under `roots` for protocol names. */
export async function scanProtocolNames(
  root: string,
  names: ReadonlySet<string>,
  roots: readonly string[] = NAME_ROOTS,
  allowed: readonly NameAllowance[] = PROTOCOL_NAMES_ALLOWED,
): Promise<NameScan> {
  const files: string[] = [];
  for (const r of roots) await walk(root, r, files);
  const hits: NameHit[] = [];
  const raw: NameHit[] = [];
  for (const file of files.sort()) {
    const src = await Deno.readTextFile(`${root}/${file}`);
    hits.push(...findProtocolNames(file, src, names, allowed));
    raw.push(...findProtocolNames(file, src, names, []));
  }
  return { hits, unused: unusedAllowances(raw, allowed) };
}

/** The report `deno task layers` prints. */
export function formatReport(scan: TreeScan, a: Analysis, names: NameScan = { hits: [], unused: [] }): string {
  const lines: string[] = [];
  const typeOnly = [...scan.graph.values()].flat().filter((r) => r.typeOnly).length;
  lines.push(
    `layer check: ${a.files} files, ${a.imports} relative imports (${typeOnly} type-only), ` +
      `${scan.external} external, ${scan.dynamic.length} dynamic`,
  );
  const typeEdge = (from: string, to: string) => {
    const refs = (scan.graph.get(from) ?? []).filter((r) => r.to === to);
    return refs.length > 0 && refs.every((r) => r.typeOnly);
  };
  lines.push("", `cycles: ${a.cycles.length}`);
  a.cycles.forEach((c, i) => {
    lines.push(`  ${i + 1}. ${c.files.length} files: ${c.files.join(", ")}`);
    const hops = c.path.slice(1).map((to, j) => `${typeEdge(c.path[j], to) ? " -(type)-> " : " -> "}${to}`);
    lines.push(`     cycle: ${c.path[0]}${hops.join("")}`);
  });
  lines.push("", `folder cycles: ${a.folderCycles.length}`);
  a.folderCycles.forEach((c, i) => {
    lines.push(`  ${i + 1}. ${c.folders.length} folders: ${c.folders.join(", ")}`);
    for (const hop of c.path) {
      lines.push(
        `     ${hop.from} -> ${hop.to}  (${hop.via.from}${
          typeEdge(hop.via.from, hop.via.to) ? " -(type)-> " : " -> "
        }${hop.via.to})`,
      );
    }
  });
  lines.push("", `violations: ${a.violations.length}`);
  for (const v of a.violations) {
    lines.push(
      `  ${v.from}${v.line ? `:${v.line}` : ""} (${v.fromLayer}) -> ${v.to} (${v.toLayer})${
        v.typeOnly ? " [type]" : ""
      }`,
    );
  }
  lines.push("", `unclassified files: ${a.unclassified.length}`);
  for (const f of a.unclassified) lines.push(`  ${f}`);
  if (scan.unresolved.length > 0) {
    lines.push("", `unresolved imports: ${scan.unresolved.length}`);
    for (const u of scan.unresolved) lines.push(`  ${u.from}:${u.line} "${u.specifier}"`);
  }
  lines.push("", `dynamic imports (not checked): ${scan.dynamic.length}`);
  for (const d of scan.dynamic) lines.push(`  ${d.from}:${d.line} ${d.specifier}`);
  lines.push(
    "",
    `protocol names in core/ (use a registration's capabilities, core/capabilities.ts): ${names.hits.length}`,
  );
  for (const h of names.hits) lines.push(`  ${h.file}:${h.line} "${h.name}"`);
  if (names.unused.length > 0) {
    lines.push("", `unused protocol-name allowances (remove them): ${names.unused.length}`);
    for (const u of names.unused) lines.push(`  ${u.names.join(", ")} in ${u.files.join(", ")}`);
  }
  lines.push(
    "",
    `summary: ${a.cycles.length} cycles, ${a.folderCycles.length} folder cycles, ${a.violations.length} violations, ${a.unclassified.length} unclassified, ` +
      `${scan.unresolved.length} unresolved, ${names.hits.length} protocol names, ${names.unused.length} unused allowances`,
  );
  return lines.join("\n");
}

/** Whether the check fails. */
export function failed(scan: TreeScan, a: Analysis, names: NameScan = { hits: [], unused: [] }): boolean {
  return a.cycles.length > 0 || a.folderCycles.length > 0 || a.violations.length > 0 || a.unclassified.length > 0 ||
    scan.unresolved.length > 0 || names.hits.length > 0 || names.unused.length > 0;
}
