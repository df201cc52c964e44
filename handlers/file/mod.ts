/**
 * The `file` handler: GOST's static file server of one directory (handler.ts, serve.ts), e.g.
 * `-L file://:8080?dir=/srv/www`, `-L file://user:pass@:8080?dir=…` (Basic auth against the service's auther), or
 * `-L file+tls://:8443?dir=…`. GET and HEAD only; directory listings, `index.html`, Range, Last-Modified and the
 * conditional requests, content types by extension or sniffing, all as Go's `http.FileServer`; paths that could
 * leave the directory (`..`, `%2e%2e`, backslashes, NUL, symlinks out of it) are refused and logged (path.ts,
 * docs/wire.md "File server").
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `dir` (`file.dir`) | the working directory | the directory served |
 *
 * GOST's `put` (`file.put`, uploads with PUT) is refused.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers `file`. */
export function register(reg: Registries): void {
  reg.handlers.register("file", async (opts) => new (await import("./handler.ts")).FileHandler(opts));
}
