/**
 * The `api` handler: GOST's Web API as a normal service (`handler.type: api`), e.g.
 * `-L api://:18080?pathPrefix=/api` or a `services[]` entry. `handler.auth`/`auther(s)` protect `/config`.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `pathPrefix` (`api.pathPrefix`) | none | base path of every route |
 * | `accessLog` (`api.accessLog`) | `false` | log one line per request, as `api.accesslog` |
 * | `allowOrigins` | none | origins allowed to drive the API from a browser without auth (core/api/cors.ts) |
 * | `readTimeout` | `15s` | bound on reading each request, head and body |
 * | `writeTimeout` | `15s` | bound on writing each response |
 * | `idleTimeout` | `30s` | bound on the idle wait for the next request on a kept-alive conn |
 * | `maxConns` | `256` | conns served at once; one more is answered 503 and closed |
 * @module
 */
import { boundTarget } from "../../core/api/target.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers `api`; its services serve the instance bound to `reg` (see core/api/target.ts). */
export function register(reg: Registries): void {
  const target = boundTarget(reg);
  reg.handlers.register("api", async (opts) => new (await import("./handler.ts")).ApiHandler({ ...opts, target }), {
    admin: true,
  });
}
