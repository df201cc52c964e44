/**
 * `GET /tunnels` (README.md, "Web API"): every running reverse-proxy tunnel server (a service of the `tunnel`
 * handler) with its entrypoints and its tunnels: id, the clients registered (connector id, network, weight, address,
 * conns), the conns routed through the tunnel and their bytes. Read-only; behind the same auth as `/config`.
 * @module
 */
import type { Hono } from "../deps/hono.ts";
import type { Registries } from "../registries.ts";
import type { TunnelInfo } from "../service/tunnels.ts";
import type { ApiEnv } from "./access_log.ts";
import type { ApiTargetRef } from "./target.ts";

/** One tunnel server as `GET /tunnels` lists it. */
export interface TunnelServerInfo {
  service: string;
  entrypoints: string[];
}

/** The body of `GET /tunnels` (inside `data`). */
export interface TunnelList {
  /** The tunnel servers. */
  servers: TunnelServerInfo[];
  /** How many tunnels are listed. */
  count: number;
  /** Every tunnel of every server, ordered by service and id. */
  list: (TunnelInfo & { ageMs: number })[];
}

/**
 * The tunnels of every tunnel server in `reg`.
 * @param now the clock for `ageMs` (epoch ms)
 */
export function listTunnels(reg: Registries, now = Date.now()): TunnelList {
  const servers: TunnelServerInfo[] = [];
  const list: TunnelList["list"] = [];
  for (const name of reg.tunnels.names().sort()) {
    const view = reg.tunnels.get(name);
    if (!view) continue;
    servers.push({ service: view.service, entrypoints: view.entrypoints() });
    for (const t of view.tunnels()) list.push({ ...t, ageMs: Math.max(0, now - t.createdAt) });
  }
  list.sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
  return { servers, count: list.length, list };
}

/**
 * Mounts `GET {prefix}/tunnels`.
 * @param app the API app (already based at the path prefix)
 * @param target the running instance, looked up per request
 */
export function tunnelRoutes(app: Hono<ApiEnv>, target: ApiTargetRef): void {
  app.get("/tunnels", (c) => c.json({ data: listTunnels(target().runtime.reg) }));
}
