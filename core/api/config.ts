/**
 * The whole-config routes: `GET /config` (the running config with each service's live status, raw JSON or
 * YAML), `POST /config` (save it atomically to the `-C` file, or a sibling in its directory) and
 * `POST /config/reload` (re-read the original sources and apply what changed).
 * @module
 */
import type { Hono } from "../deps/hono.ts";
import type { ApiEnv } from "./access_log.ts";
import { readBodyBytes } from "./body.ts";
import { invalid, toApiError } from "./errors.ts";
import type { ApiTargetRef } from "./target.ts";

/** Content types of `GET /config`, as GOST. */
export const CONFIG_CONTENT_TYPES = { json: "application/json", yaml: "text/x-yaml" } as const;

/**
 * Parses `?format=`: `json`, `yaml` (`yml`), or absent.
 * @throws {ApiError} 400/40001 for anything else
 */
export function parseFormat(value: string | undefined): "json" | "yaml" | undefined {
  if (value === undefined || value === "") return undefined;
  const v = value.toLowerCase();
  if (v === "json") return "json";
  if (v === "yaml" || v === "yml") return "yaml";
  throw invalid(`format: expected json or yaml, got ${JSON.stringify(value)}`);
}

/**
 * Mounts the whole-config routes (before the object routes: `/config/reload` must win over `/config/{kind}`).
 * @param app the API app (already based at the path prefix)
 * @param target the running instance, looked up per request
 */
export function configRoutes(app: Hono<ApiEnv>, target: ApiTargetRef): void {
  app.get("/config", (c) => {
    const format = parseFormat(c.req.query("format")) ?? "json";
    let text: string;
    try {
      text = target().runtime.configText(format);
    } catch (err) {
      throw toApiError(err, "read");
    }
    return c.body(text, 200, { "Content-Type": CONFIG_CONTENT_TYPES[format] });
  });

  app.post("/config", async (c) => {
    const format = parseFormat(c.req.query("format"));
    const path = c.req.query("path") || undefined;
    if (path !== undefined && path.includes("\0")) throw invalid("path: must not contain NUL");
    await readBodyBytes(c.req.raw);
    try {
      await target().runtime.save(path, format);
    } catch (err) {
      throw toApiError(err, "save");
    }
    return c.json({ msg: "OK" });
  });

  app.post("/config/reload", async (c) => {
    await readBodyBytes(c.req.raw);
    try {
      await target().reload();
    } catch (err) {
      throw toApiError(err, "reload");
    }
    return c.json({ msg: "OK" });
  });
}
