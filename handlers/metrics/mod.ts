/**
 * The `metrics` handler: GOST's Prometheus endpoint as a normal service (`handler.type: metrics`), e.g.
 * `-L metrics://:9000` or a `services[]` entry. It serves the same exposition as the `metrics:` server
 * (core/observe/metrics_server.ts), and a config that has such a service enables the metrics as `metrics.addr` does.
 * `handler.auth`/`auther(s)` (or the `-L` URL's `user:pass@`) require HTTP Basic credentials; a request without
 * them is answered 401.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `path` (`metrics.path`) | `/metrics` | the exposition's path; others answer 404 |
 * | `readTimeout` | `15s` | bound on reading each request |
 * | `writeTimeout` | `15s` | bound on writing each response |
 * | `idleTimeout` | `30s` | bound on the idle wait for the next request on a kept-alive conn |
 * | `maxConns` | `256` | conns served at once; one more is answered 503 and closed |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers `metrics`; its services serve the metrics of the process bound to `reg` (`reg.process.metrics`). */
export function register(reg: Registries): void {
  reg.handlers.register(
    "metrics",
    async (opts) => new (await import("./handler.ts")).MetricsHandler({ ...opts, metrics: () => reg.process.metrics }),
  );
}
