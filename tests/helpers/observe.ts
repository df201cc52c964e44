/**
 * Test helpers for observers and metrics: a local HTTP observer plugin, a service built from config with the
 * observability hooks, and raw proxy requests with exact byte counts.
 * @module
 */
import { buildService } from "../../core/config/build.ts";
import type { ServiceConfig } from "../../core/config/types.ts";
import { nopLogger } from "../../core/log.ts";
import type { Observability } from "../../core/observe/mod.ts";
import type { Service } from "../../core/service/service.ts";
import { createBuiltinRegistries } from "../../mod.ts";
import { exchange as rawExchange } from "./io.ts";

/** An event as the plugin received it (JSON). */
// deno-lint-ignore no-explicit-any
export type Ev = Record<string, any>;

/** One request the observer plugin received. */
export interface ObserverRequest {
  authorization: string | null;
  contentType: string | null;
  body: { events: Ev[] };
  /** The status the plugin answered. */
  status: number;
}

/** A local HTTP observer plugin. */
export interface ObserverServer {
  url: string;
  addr: string;
  requests: ObserverRequest[];
  /** Every event received, in order. */
  events(): Ev[];
  /** Resolves with the first event at or after position `from` matching `pred` (rejects after `ms`). */
  waitEvent(pred: (e: Ev) => boolean, from?: number, ms?: number): Promise<Ev>;
  close(): Promise<void>;
}

/**
 * Starts an observer plugin on 127.0.0.1:0. `reply` decides each answer (default 200 `{"ok":true}`).
 */
export function observerServer(
  reply: (req: ObserverRequest, n: number) => Response | Promise<Response> = () => Response.json({ ok: true }),
): ObserverServer {
  const requests: ObserverRequest[] = [];
  let wake: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const r: ObserverRequest = {
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      body: await req.json(),
      status: 0,
    };
    const res = await reply(r, requests.length);
    r.status = res.status;
    requests.push(r);
    for (const w of wake) w();
    wake = [];
    return res;
  });
  const events = () => requests.filter((r) => r.status === 200).flatMap((r) => r.body.events);
  return {
    url: `http://127.0.0.1:${server.addr.port}/observer`,
    addr: `127.0.0.1:${server.addr.port}/observer`,
    requests,
    events,
    async waitEvent(pred, from = 0, ms = 8000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events().slice(from).find(pred);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events())}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake.push(resolve);
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
      }
    },
    close: () => server.shutdown(),
  };
}

/** A service built from `cfg` (observer fields included) with `obs`'s hooks, serving on 127.0.0.1. */
export interface ObservedService {
  svc: Service;
  port: number;
  /** Closes the service, then stops watching it (the runtime's order). */
  close(): Promise<void>;
}

/**
 * Builds and serves a service as the runtime does: `connHooks(cfg)` while building, `watchService` before
 * `serve()`. The observer fields are kept from the builder, which does not accept them yet.
 */
export async function startObserved(obs: Observability, cfg: ServiceConfig): Promise<ObservedService> {
  const { observer: _o, ...rest } = cfg;
  const bare: ServiceConfig = { ...rest, handler: cfg.handler && { ...cfg.handler, observer: undefined } };
  const svc = await buildService(bare, 0, {
    reg: createBuiltinRegistries(),
    logger: nopLogger,
    connHooks: () => obs.connHooks(cfg),
  });
  const unwatch = obs.watchService(svc, cfg);
  svc.serve().catch(() => {});
  return {
    svc,
    port: (svc.addr as Deno.NetAddr).port,
    async close() {
      await svc.close();
      unwatch();
    },
  };
}

/** Sends `request` raw, reads to EOF; returns the bytes received. */
export async function exchange(port: number, request: string): Promise<number> {
  return (await rawExchange(port, request, { timeoutMs: 30_000 })).bytes.length;
}

/** A proxy GET with `Connection: close` and optional Basic proxy credentials. */
export function proxyGet(originPort: number, path: string, user?: string): string {
  const auth = user ? `Proxy-Authorization: Basic ${btoa(user)}\r\n` : "";
  return `GET http://127.0.0.1:${originPort}${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`;
}
