/**
 * The fields of GOST's config structures that gost.ts refuses rather than accept and ignore (README.md, "Refused
 * settings"): each sits in a tree that mirrors the config (a service's `handler`, a hop's `nodes[*]`), so one walk
 * finds the first one set in an object and names its path. GOST's metadata keys are checked separately, once the
 * components have read theirs (core/config/unread_keys.ts).
 * @module
 */
import type { ConfigPath } from "./load.ts";

/** A refused field (its reason) or a structure below a field (`"*"`: every element of a list). */
type FieldTree = { readonly [key: string]: string | FieldTree };

const LIMITERS = "traffic, connection and rate limiters are not supported by gost.ts yet";
const BINDING = "binding to an interface, a netns or a socket mark is not supported by gost.ts yet";
const ROUTING = "node filters, matchers and HTTP settings on hop nodes are not supported by gost.ts yet " +
  "(set filter, http and tls on the forwarder nodes of a sniffing service)";
const MATCHER = "matcher rules (GOST's Traefik-style rules) are not supported by gost.ts yet: use filter " +
  "(host, protocol, path)";
const PROBES = "health probes are not supported by gost.ts yet";
const LATENCY = "maxLatency (the lowest-latency selector) is not supported by gost.ts yet";

const SELECTOR: FieldTree = { maxLatency: LATENCY };

/** A chain node (`hops[*].nodes[*]`). */
const NODE: FieldTree = {
  interface: BINDING,
  netns: BINDING,
  sockopts: BINDING,
  filter: ROUTING,
  matcher: ROUTING,
  http: ROUTING,
  probe: PROBES,
};

/** A hop (top-level `hops[*]`, or `chains[*].hops[*]`). */
const HOP: FieldTree = {
  interface: BINDING,
  sockopts: BINDING,
  selector: SELECTOR,
  nodes: { "*": NODE },
};

/** A forwarder's node (`forwarder.nodes[*]`). */
const FORWARD_NODE: FieldTree = {
  bypass: "bypasses on forwarder nodes are not supported by gost.ts yet (set bypass on the service)",
  bypasses: "bypasses on forwarder nodes are not supported by gost.ts yet (set bypass on the service)",
  matcher: MATCHER,
  probe: PROBES,
};

const CHAIN_GROUP: FieldTree = { selector: SELECTOR };

/** Per object kind, what is refused in one object of it. */
const FIELDS: Readonly<Record<string, FieldTree>> = {
  services: {
    interface: BINDING,
    sockopts: BINDING,
    limiter: LIMITERS,
    climiter: LIMITERS,
    rlimiter: LIMITERS,
    quotas: "quotas are not supported by gost.ts yet",
    recorders: "recorders are not supported by gost.ts yet",
    rewriter: "rewriters (plugin body rewriting) are not supported by gost.ts yet",
    cache: "caches are not supported by gost.ts yet",
    handler: {
      tls: "handler TLS (the handler's own certificate, used by GOST for MITM) is not supported by gost.ts yet",
      limiter: LIMITERS,
      chainGroup: CHAIN_GROUP,
    },
    listener: {
      auth: "listener auth (GOST's ssh/sshd listeners) is not supported by gost.ts yet: set handler.auth",
      auther: "listener authers (GOST's ssh/sshd listeners) are not supported by gost.ts yet: set handler.auther",
      authers: "listener authers (GOST's ssh/sshd listeners) are not supported by gost.ts yet: set handler.authers",
      chainGroup: CHAIN_GROUP,
    },
    forwarder: {
      hopGroup: "forwarder.hopGroup (a selector over hops) is not supported by gost.ts yet: use forwarder.hop",
      selector: SELECTOR,
      nodes: { "*": FORWARD_NODE },
    },
  },
  chains: { hops: { "*": HOP } },
  hops: HOP,
  resolvers: {
    nameservers: {
      "*": {
        clientIP: "clientIP (the EDNS0 client subnet) is not supported by gost.ts yet",
        async: "async (answering from the cache while refreshing it) is not supported by gost.ts yet",
      },
    },
  },
};

/** Top-level sections of GOST's config that gost.ts refuses (the named kinds are in refused.ts). */
const TOP_LEVEL: FieldTree = {
  profiling: "profiling (Go's pprof server) has no counterpart in gost.ts: run it with `deno run --inspect` instead",
  rewriters: "rewriters (plugin body rewriting) are not supported by gost.ts yet: remove the rewriters section",
};

function present(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  return typeof v !== "object" || Object.keys(v as object).length > 0;
}

function walk(tree: FieldTree, value: unknown, path: ConfigPath): { path: ConfigPath; message: string } | undefined {
  if (!value || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    const each = tree["*"];
    if (typeof each !== "object") return undefined;
    for (const [i, v] of value.entries()) {
      const hit = walk(each, v, [...path, i]);
      if (hit) return hit;
    }
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  for (const [key, rule] of Object.entries(tree)) {
    if (key === "*") continue;
    const v = obj[key];
    if (typeof rule === "string") {
      if (!present(v)) continue;
      return { path: [...path, key], message: `${rule} (got ${JSON.stringify(v)?.slice(0, 200)})` };
    }
    const hit = walk(rule, v, [...path, key]);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The first refused field set in one object of `kind`, as its path below the object and the reason.
 * @example refusedField("hops", { name: "h", nodes: [{ addr: ":1080", probe: { type: "tcp" } }] })
 * // { path: ["nodes", 0, "probe"], message: "health probes are not supported by gost.ts yet (got …)" }
 */
export function refusedField(kind: string, obj: unknown): { path: ConfigPath; message: string } | undefined {
  const tree = FIELDS[kind];
  return tree ? walk(tree, obj, []) : undefined;
}

/**
 * The first refused top-level section of a config (`profiling`, `rewriters`), as its path and the reason.
 * @example refusedTopLevel({ profiling: { addr: ":6060" } })?.path // ["profiling"]
 */
export function refusedTopLevel(config: unknown): { path: ConfigPath; message: string } | undefined {
  return walk(TOP_LEVEL, config, []);
}

/** Every refused field path (`services.forwarder.nodes.*.http`), for docs and the schema walk. */
export function refusedFieldPaths(): string[] {
  const out: string[] = [];
  const collect = (tree: FieldTree, prefix: string) => {
    for (const [key, rule] of Object.entries(tree)) {
      const p = prefix ? `${prefix}.${key}` : key;
      if (typeof rule === "string") out.push(p);
      else collect(rule, p);
    }
  };
  for (const [kind, tree] of Object.entries(FIELDS)) collect(tree, kind);
  collect(TOP_LEVEL, "");
  return out;
}
