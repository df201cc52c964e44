/**
 * The API's OpenAPI 3 document, written by hand from GOST's swagger spec and this implementation: served as JSON at
 * `{prefix}/docs/openapi.json` and as YAML at GOST's path `{prefix}/docs/swagger.yaml` (GOST serves Swagger 2.0
 * there; this is the same API described in OpenAPI 3). Both are unauthenticated, as GOST's `/docs`.
 * @module
 */
import { stringifyYaml } from "../deps/yaml.ts";
import { OBJECT_KINDS, type ObjectKind } from "../runtime/objects.ts";
import { type Json, KIND_SCHEMA, OPENAPI_SCHEMAS, ref } from "./openapi_schemas.ts";
import { VERSION } from "../version.ts";

const jsonBody = (schema: Json): Json => ({ "application/json": { schema } });

/** A 200 answer `{data: {...props}}`: the shape of every list route. */
const listAnswer = (props: Json): Json => ({
  description: "The list",
  content: jsonBody({ type: "object", properties: { data: { type: "object", properties: props } } }),
});

const SINGULAR: Record<ObjectKind, string> = {
  services: "service",
  chains: "chain",
  hops: "hop",
  authers: "auther",
  admissions: "admission",
  bypasses: "bypass",
  resolvers: "resolver",
  hosts: "hosts mapping",
  ingresses: "ingress",
  routers: "router",
  observers: "observer",
  recorders: "recorder",
  sds: "service discovery",
  limiters: "traffic limiter",
  climiters: "connection limiter",
  rlimiters: "request-rate limiter",
  quotas: "quota",
  caches: "cache",
};

function errorResponse(description: string): Json {
  return { description, content: jsonBody(ref("Error")) };
}

const OK: Json = { description: 'Done: `{"msg":"OK"}`', content: jsonBody(ref("Response")) };
const E400: Json = errorResponse("40001 invalid (the message names the field) or 40002 duplicate name");
const E401: Json = {
  description: 'Missing or wrong credentials: `{"code":401,"msg":"Unauthorized"}`',
  headers: { "WWW-Authenticate": { schema: { type: "string", example: "Basic" } } },
  content: jsonBody(ref("Error")),
};
const E404: Json = errorResponse("40004 not found");
const E413: Json = errorResponse("40001 request body larger than 1 MiB");
const E500: Json = errorResponse("40003 the object is valid but could not be started (e.g. its port is taken)");

const int: Json = { type: "integer" };
const nullableInt: Json = { type: "integer", nullable: true };
const str: Json = { type: "string" };
/** One entry of `GET /sessions` (core/api/sessions.ts). */
const SESSION_SCHEMA: Json = {
  type: "object",
  properties: {
    chain: str,
    node: str,
    addr: str,
    transport: str,
    local: str,
    remote: str,
    streamsOpen: int,
    streamsTotal: int,
    bytesIn: int,
    bytesOut: int,
    createdAt: int,
    ageMs: int,
    lastReceivedAt: nullableInt,
    lastKeepaliveAt: nullableInt,
    keepaliveRttMs: nullableInt,
    keepaliveTimeoutMs: int,
  },
};

/** One entry of `GET /tunnels` (core/api/tunnels.ts). */
const TUNNEL_SCHEMA: Json = {
  type: "object",
  properties: {
    service: str,
    id: str,
    endpoint: str,
    clients: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: str,
          network: { type: "string", description: "the network the client serves (rtcp or rudp)" },
          weight: int,
          remote: str,
          since: int,
          connsOpen: int,
          connsTotal: int,
        },
      },
    },
    connsOpen: int,
    connsTotal: int,
    bytesIn: int,
    bytesOut: int,
    createdAt: int,
    ageMs: int,
  },
};

const nameParam: Json = { name: "name", in: "path", required: true, schema: { type: "string" } };
const formatParam: Json = {
  name: "format",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["json", "yaml"], default: "json" },
};

function kindPaths(kind: ObjectKind): Record<string, Json> {
  const one = SINGULAR[kind];
  const schema = ref(KIND_SCHEMA[kind] ?? "NamedObject");
  const tag = [kind];
  return {
    [`/config/${kind}`]: {
      get: {
        tags: tag,
        summary: `List ${kind}`,
        operationId: `list-${kind}`,
        responses: {
          200: listAnswer({ count: { type: "integer" }, list: { type: "array", items: schema } }),
          401: E401,
        },
      },
      post: {
        tags: tag,
        summary: `Create a ${one}${kind === "services" ? " (it starts at once)" : ""}`,
        operationId: `create-${kind}`,
        requestBody: { required: true, content: jsonBody(schema) },
        responses: { 200: OK, 400: E400, 401: E401, 413: E413, 500: E500 },
      },
    },
    [`/config/${kind}/{name}`]: {
      parameters: [nameParam],
      get: {
        tags: tag,
        summary: `Get a ${one}${kind === "services" ? " with its live status" : ""}`,
        operationId: `get-${kind}`,
        responses: {
          200: { description: "The object", content: jsonBody({ type: "object", properties: { data: schema } }) },
          401: E401,
          404: E404,
        },
      },
      put: {
        tags: tag,
        summary: `Replace a ${one}${kind === "services" ? " (the old one is closed, the new one started)" : ""}`,
        description: "The body is the whole object; the name in the URL wins. `status` and unknown keys are ignored.",
        operationId: `update-${kind}`,
        requestBody: { required: true, content: jsonBody(schema) },
        responses: { 200: OK, 400: E400, 401: E401, 404: E404, 413: E413, 500: E500 },
      },
      delete: {
        tags: tag,
        summary: `Delete a ${one}${kind === "services" ? " (it stops and frees its port)" : ""}`,
        operationId: `delete-${kind}`,
        responses: { 200: OK, 401: E401, 404: E404 },
      },
    },
  };
}

export function openApiDocument(pathPrefix = ""): Json {
  const paths: Record<string, Json> = {
    "/config": {
      get: {
        tags: ["config"],
        summary: "The running config, with each service's live status",
        operationId: "get-config",
        parameters: [formatParam],
        responses: {
          200: {
            description: "The config (raw, not in an envelope)",
            content: { "application/json": { schema: ref("Config") }, "text/x-yaml": { schema: ref("Config") } },
          },
          400: E400,
          401: E401,
        },
      },
      post: {
        tags: ["config"],
        summary: "Save the running config atomically to the -C file (or gost.yaml in the working directory)",
        operationId: "save-config",
        parameters: [formatParam, {
          name: "path",
          in: "query",
          required: false,
          description: "A file in the config file's directory; any other path is refused (40001)",
          schema: { type: "string" },
        }],
        responses: { 200: OK, 400: E400, 401: E401, 500: errorResponse("40005 writing the file failed") },
      },
    },
    "/config/reload": {
      post: {
        tags: ["config"],
        summary: "Re-read the original sources and rebuild what changed (unchanged services keep their connections)",
        operationId: "reload-config",
        responses: { 200: OK, 400: E400, 401: E401, 500: E500 },
      },
    },
  };
  for (const kind of OBJECT_KINDS) Object.assign(paths, kindPaths(kind));
  paths["/config/quotas/{name}/reset"] = {
    parameters: [nameParam],
    post: {
      tags: ["quotas"],
      summary: "Reset a quota's usage (quotas are stored but not enforced by gost.ts yet: answers 501)",
      operationId: "reset-quota",
      requestBody: {
        required: false,
        content: jsonBody({ type: "object", properties: { used: { type: "integer", minimum: 0, default: 0 } } }),
      },
      responses: { 400: E400, 401: E401, 404: E404, 501: errorResponse("Not implemented") },
    },
  };
  paths["/sessions"] = {
    get: {
      tags: ["sessions"],
      summary: "The live multiplexed sessions of every chain (mtcp, mtls, …): streams, bytes, keep-alive, age",
      description: "Times are epoch milliseconds. `keepaliveRttMs` is null for smux (its NOPs are never answered): " +
        "`lastKeepaliveAt` is the peer's last NOP. A session that receives nothing for `keepaliveTimeoutMs` is " +
        "closed (counted in `ended.{chain}.keepalive`) and the next dial opens a new one.",
      operationId: "list-sessions",
      responses: {
        200: listAnswer({
          count: { type: "integer" },
          list: { type: "array", items: SESSION_SCHEMA },
          ended: {
            type: "object",
            description: "Sessions ended so far per chain, by reason (keepalive, peer, error, local)",
            additionalProperties: { type: "object", additionalProperties: { type: "integer" } },
          },
        }),
        401: E401,
      },
    },
  };
  paths["/tunnels"] = {
    get: {
      tags: ["tunnels"],
      summary: "The reverse-proxy tunnels of every tunnel server: clients registered, conns, bytes",
      description:
        "Times are epoch milliseconds. `bytesIn` went from visitors into the tunnel, `bytesOut` came back. " +
        "A tunnel without clients stays listed for the server's `tunnel.ttl`.",
      operationId: "list-tunnels",
      responses: {
        200: listAnswer({
          servers: {
            type: "array",
            items: { type: "object", properties: { service: str, entrypoints: { type: "array", items: str } } },
          },
          count: { type: "integer" },
          list: { type: "array", items: TUNNEL_SCHEMA },
        }),
        401: E401,
      },
    },
  };
  const docs = (summary: string, type: string): Json => ({
    get: {
      tags: ["docs"],
      summary,
      security: [],
      responses: { 200: { description: "The document", content: { [type]: { schema: { type: "object" } } } } },
    },
  });
  paths["/docs/openapi.json"] = docs("This document as JSON", "application/json");
  paths["/docs/swagger.yaml"] = docs("This document as YAML (GOST's path)", "text/yaml");
  return {
    openapi: "3.0.3",
    info: {
      title: "Documentation of Web API",
      version: "1.0.0",
      description: `gost.ts ${VERSION}: GOST v3's Web API. Errors are \`{"code":N,"msg":"…"}\`: ` +
        "40001 invalid (400; 413 for a body over 1 MiB), 40002 duplicate (400), 40003 create failed (500), " +
        "40004 not found (404), 40005 save failed (500), 401 unauthorized.",
    },
    servers: [{ url: pathPrefix || "/" }],
    security: [{ basicAuth: [] }],
    tags: [
      { name: "config" },
      ...OBJECT_KINDS.map((k) => ({ name: k })),
      { name: "sessions" },
      { name: "tunnels" },
      { name: "docs" },
    ],
    paths,
    components: {
      securitySchemes: { basicAuth: { type: "http", scheme: "basic" } },
      schemas: OPENAPI_SCHEMAS,
    },
  };
}

/** The document as YAML (`/docs/swagger.yaml`). */
export function openApiYaml(pathPrefix = ""): string {
  return stringifyYaml(openApiDocument(pathPrefix));
}
