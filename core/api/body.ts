/**
 * Reading a request body as one JSON object, under a size cap checked before parsing. gost-ui's bookkeeping keys
 * (`_id_`, `_key_`, `_type_`) and the output-only `status` are dropped; other unknown keys are kept, as GOST's
 * config carries keys a strict schema would refuse.
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { ApiCode, ApiError, invalid } from "./errors.ts";

/** The largest body the API reads (1 MiB): config objects are a few KB. */
export const MAX_BODY_BYTES = 1 << 20;

function tooLarge(): ApiError {
  return new ApiError(413, ApiCode.Invalid, `request body: larger than ${MAX_BODY_BYTES} bytes`);
}

/**
 * Reads the raw body, refusing one over `max` bytes from its Content-Length or while it streams.
 * @throws {ApiError} 413/40001 when too large
 */
export async function readBodyBytes(req: Request, max = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!req.body) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return concatBytes(parts, size);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

/** Keys gost-ui adds to objects it stores (`_id_`, `_key_`, `_type_`). */
const UI_KEY = /^_[A-Za-z0-9]+_$/;

/**
 * Reads the body as one JSON object, without `status` and gost-ui's `_x_` keys.
 * @param what names the body in messages (e.g. `services`)
 * @throws {ApiError} 413 over the cap, 400/40001 for an empty body, invalid JSON or a non-object
 */
export async function readJsonObject(req: Request, what: string, optional = false): Promise<Record<string, unknown>> {
  const bytes = await readBodyBytes(req);
  const text = new TextDecoder().decode(bytes).trim();
  if (!text) {
    if (optional) return {};
    throw invalid(`${what}: request body is empty, expected a JSON object`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`${what}: request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${what}: request body must be a JSON object, got ${typeName(value)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "status" && !UI_KEY.test(k)) out[k] = v;
  return out;
}
