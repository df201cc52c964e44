/**
 * `/config/{kind}` routes: list, get, create, replace and delete the named objects of every kind
 * ({@link OBJECT_KINDS}), plus `POST /config/quotas/{name}/reset`. Envelopes as GOST: a list is
 * `{"data":{"count":N,"list":[…]}}`, one object `{"data":{…}}`, a mutation `{"msg":"OK"}`.
 * @module
 */
import type { Hono } from "../deps/hono.ts";
import { isObjectKind, OBJECT_KINDS, type ObjectKind } from "../runtime/objects.ts";
import type { ApiEnv } from "./access_log.ts";
import { readJsonObject } from "./body.ts";
import { type ApiAction, ApiCode, ApiError, invalid, toApiError } from "./errors.ts";
import type { ApiTargetRef } from "./target.ts";

function kindOf(k: string): ObjectKind {
  if (!isObjectKind(k)) {
    throw new ApiError(404, ApiCode.NotFound, `unknown object kind "${k}": supported are ${OBJECT_KINDS.join(", ")}`);
  }
  return k;
}

async function mapped<T>(action: ApiAction, kind: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err, action, kind);
  }
}

/**
 * Mounts the object routes under `{prefix}/config`.
 * @param app the API app (already based at the path prefix)
 * @param target the running instance, looked up per request
 */
export function objectRoutes(app: Hono<ApiEnv>, target: ApiTargetRef): void {
  app.post("/config/quotas/:name/reset", async (c) => {
    const name = c.req.param("name");
    const body = await readJsonObject(c.req.raw, "quotas", true);
    if (body.used !== undefined && (typeof body.used !== "number" || !Number.isInteger(body.used) || body.used < 0)) {
      throw invalid(`quotas.used: expected a non-negative integer, got ${JSON.stringify(body.used)}`);
    }
    await mapped("read", "quotas", () => target().runtime.get("quotas", name));
    throw new ApiError(
      501,
      501,
      `quotas "${name}": quotas are stored but not enforced by gost.ts yet: nothing to reset`,
    );
  });

  app.get("/config/:kind", async (c) => {
    const kind = kindOf(c.req.param("kind"));
    const list = await mapped("read", kind, () => target().runtime.list(kind));
    return c.json({ data: { count: list.length, list } });
  });

  app.get("/config/:kind/:name", async (c) => {
    const kind = kindOf(c.req.param("kind"));
    const data = await mapped("read", kind, () => target().runtime.get(kind, c.req.param("name")));
    return c.json({ data });
  });

  app.post("/config/:kind", async (c) => {
    const kind = kindOf(c.req.param("kind"));
    const body = await readJsonObject(c.req.raw, kind);
    await mapped("create", kind, () => target().runtime.create(kind, body));
    return c.json({ msg: "OK" });
  });

  app.put("/config/:kind/:name", async (c) => {
    const kind = kindOf(c.req.param("kind"));
    const body = await readJsonObject(c.req.raw, kind);
    await mapped("replace", kind, () => target().runtime.replace(kind, c.req.param("name"), body));
    return c.json({ msg: "OK" });
  });

  app.delete("/config/:kind/:name", async (c) => {
    const kind = kindOf(c.req.param("kind"));
    await mapped("delete", kind, () => target().runtime.remove(kind, c.req.param("name")));
    return c.json({ msg: "OK" });
  });
}
