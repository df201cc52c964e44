/**
 * The schemas of the API's OpenAPI document (`components.schemas`): the envelope, errors, status and stats, and
 * the config objects (loose: GOST's configs carry more keys than are listed here).
 * @module
 */
import { OBJECT_KINDS, type ObjectKind } from "../runtime/objects.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** A `$ref` to a schema of the document. */
export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** The schema of one object of each kind in the document. */
export const KIND_SCHEMA: Partial<Record<ObjectKind, string>> = {
  services: "Service",
  chains: "Chain",
  hops: "Hop",
  authers: "Auther",
};

const statusSchema: Json = {
  type: "object",
  description: "Output only: ignored in request bodies",
  properties: {
    createTime: { type: "integer", format: "int64", description: "Unix seconds" },
    state: { type: "string", enum: ["running", "ready", "failed", "closed"] },
    events: {
      type: "array",
      maxItems: 20,
      items: { type: "object", properties: { time: { type: "integer", format: "int64" }, msg: { type: "string" } } },
    },
    stats: ref("Stats"),
  },
};

const plugin: Json = { type: "object", additionalProperties: true, properties: { type: { type: "string" } } };
const md: Json = { type: "object", additionalProperties: true };
const auth: Json = {
  type: "object",
  properties: { username: { type: "string" }, password: { type: "string" }, file: { type: "string" } },
};

/** The document's `components.schemas`. */
export const OPENAPI_SCHEMAS: Json = {
  Response: {
    type: "object",
    properties: { code: { type: "integer" }, msg: { type: "string" }, data: {} },
  },
  Error: {
    type: "object",
    required: ["code", "msg"],
    properties: {
      code: { type: "integer", enum: [401, 40001, 40002, 40003, 40004, 40005] },
      msg: { type: "string" },
    },
  },
  Stats: {
    type: "object",
    description: "Only with service metadata `enableStats: true`; besides GOST's fields, the handler's own counts " +
      "(`Handler.counters`: the DNS proxy's `cacheHits` and `upstreamQueries`)",
    properties: Object.fromEntries(
      ["totalConns", "currentConns", "totalErrs", "inputBytes", "outputBytes"].map((k) => [k, { type: "integer" }]),
    ),
    additionalProperties: { type: "integer" },
  },
  ServiceStatus: statusSchema,
  NamedObject: {
    type: "object",
    required: ["name"],
    additionalProperties: true,
    properties: { name: { type: "string", description: "Unique; no `/`, `\\` or `..`" }, plugin },
  },
  Service: {
    type: "object",
    required: ["name"],
    additionalProperties: true,
    properties: {
      name: { type: "string" },
      addr: { type: "string", example: ":8080" },
      handler: {
        type: "object",
        additionalProperties: true,
        properties: {
          type: { type: "string", description: "a registered handler type; GOST's default when omitted" },
          chain: { type: "string" },
          retries: { type: "integer" },
          auther: { type: "string" },
          authers: { type: "array", items: { type: "string" } },
          auth,
          metadata: md,
        },
      },
      listener: {
        type: "object",
        additionalProperties: true,
        properties: {
          type: { type: "string", description: "a registered listener type; GOST's default when omitted" },
          metadata: md,
        },
      },
      forwarder: {
        type: "object",
        additionalProperties: true,
        properties: {
          nodes: {
            type: "array",
            items: { type: "object", properties: { name: { type: "string" }, addr: { type: "string" } } },
          },
          selector: ref("Selector"),
        },
      },
      metadata: md,
      status: ref("ServiceStatus"),
    },
  },
  Selector: {
    type: "object",
    properties: {
      strategy: { type: "string", enum: ["round", "rr", "random", "rand", "fifo", "ha", "hash"] },
      maxFails: { type: "integer" },
      failTimeout: { type: "string", example: "10s" },
    },
  },
  Node: {
    type: "object",
    additionalProperties: true,
    properties: {
      name: { type: "string" },
      addr: { type: "string" },
      connector: { type: "object", additionalProperties: true, properties: { type: { type: "string" }, auth } },
      dialer: { type: "object", additionalProperties: true, properties: { type: { type: "string" }, auth } },
      metadata: md,
    },
  },
  Hop: {
    type: "object",
    additionalProperties: true,
    properties: {
      name: { type: "string" },
      selector: ref("Selector"),
      nodes: { type: "array", items: ref("Node") },
      metadata: md,
    },
  },
  Chain: {
    type: "object",
    required: ["name"],
    additionalProperties: true,
    properties: { name: { type: "string" }, hops: { type: "array", items: ref("Hop") }, metadata: md },
  },
  Auther: {
    type: "object",
    required: ["name"],
    additionalProperties: true,
    properties: {
      name: { type: "string" },
      auths: { type: "array", items: auth },
      file: { type: "object", properties: { path: { type: "string" } } },
    },
  },
  Config: {
    type: "object",
    additionalProperties: true,
    properties: Object.fromEntries(
      OBJECT_KINDS.map((k) => [k, { type: "array", items: ref(KIND_SCHEMA[k] ?? "NamedObject") }]),
    ),
  },
};

/**
 * Builds the OpenAPI 3 document.
 * @param pathPrefix the API's path prefix (the document's server URL)
 * @returns the document as a plain object
 * @example openApiDocument("/api").paths["/config"]
 */
