/**
 * The `api` handler: GOST's Web API as a normal service (`handler.type: api`), e.g.
 * `-L api://:18080?pathPrefix=/api` or a `services[]` entry. `handler.auth`/`auther(s)` protect `/config`.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `pathPrefix` (`api.pathPrefix`) | none | base path of every route |
 * | `accessLog` (`api.accessLog`) | `false` | log one line per request, as `api.accesslog` |
 * | `readTimeout` | `15s` | bound on reading each request, and on the idle wait for the next one |
 * @module
 */
import { boundTarget } from "../../core/api/target.ts";
import type { Registries } from "../../core/registries.ts";
import { ApiHandler } from "./handler.ts";

/** Registers `api`; its services serve the instance bound to `reg` (see core/api/target.ts). */
export function register(reg: Registries): void {
  const target = boundTarget(reg);
  reg.handlers.register("api", (opts) => new ApiHandler({ ...opts, target }));
}
