/**
 * `GET /sessions` (README.md, "Web API"): the live multiplexed sessions of every chain in the registries (one per
 * multiplexing node, e.g. `mtls`), with their streams, bytes, last frame received, keep-alive and age, and how many
 * sessions of each chain ended by reason. Read-only; behind the same auth as `/config`.
 * @module
 */
import type { Hono } from "../deps/hono.ts";
import type { MuxCloseReason, MuxSessionStats } from "../contracts.ts";
import type { Registries } from "../registries.ts";
import type { ApiEnv } from "./access_log.ts";
import type { ApiTargetRef } from "./target.ts";

/** One session as `GET /sessions` lists it. */
export interface SessionInfo extends Omit<MuxSessionStats, "closeReason"> {
  chain: string;
  node: string;
  /** The node's address as configured. */
  addr: string;
  /** Milliseconds since the session started. */
  ageMs: number;
}

/** The body of `GET /sessions` (inside `data`). */
export interface SessionList {
  count: number;
  list: SessionInfo[];
  /** Sessions that ended so far, per chain and reason (`keepalive`, `peer`, `error`, `local`). */
  ended: Record<string, Partial<Record<MuxCloseReason, number>>>;
}

/**
 * The live sessions of every chain in `reg`, ordered by chain and node.
 * @param now the clock for `ageMs` (epoch ms)
 */
export function listSessions(reg: Registries, now = Date.now()): SessionList {
  const list: SessionInfo[] = [];
  const ended: SessionList["ended"] = {};
  for (const name of reg.chains.names().sort()) {
    const chain = reg.chains.get(name);
    if (!chain) continue;
    const counts = chain.sessions.endedCounts();
    if (Object.keys(counts).length) ended[name] = counts;
    for (const [node, session] of chain.sessions.entries()) {
      const st = session.stats?.();
      if (!st) continue;
      const { closeReason: _, ...live } = st;
      list.push({ chain: name, node: node.name, addr: node.addr, ...live, ageMs: Math.max(0, now - st.createdAt) });
    }
  }
  list.sort((a, b) => a.chain.localeCompare(b.chain) || a.node.localeCompare(b.node));
  return { count: list.length, list, ended };
}

/**
 * Mounts `GET {prefix}/sessions`.
 * @param app the API app (already based at the path prefix)
 * @param target the running instance, looked up per request
 */
export function sessionRoutes(app: Hono<ApiEnv>, target: ApiTargetRef): void {
  app.get("/sessions", (c) => c.json({ data: listSessions(target().runtime.reg) }));
}
