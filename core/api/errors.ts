/**
 * The Web API's one error mapper: every failure becomes GOST's `{code, msg}` body with an HTTP status.
 *
 * | code | HTTP | when |
 * |---|---|---|
 * | 40001 | 400 (413 for a body over the cap) | invalid request: bad JSON, a field of the wrong type, an unknown type, a bad name, a save path outside the config directory, a reload that does not parse |
 * | 40002 | 400 | duplicate name |
 * | 40003 | 500 | the object is valid but could not be created (its port is taken, its listener failed) |
 * | 40004 | 404 | no object of that kind and name (GOST answers 400, or 200 `{}` for a GET) |
 * | 40005 | 500 | writing the config file failed |
 * | 401 | 401 | missing or wrong credentials (`{"code":401,"msg":"Unauthorized"}`) |
 * @module
 */
import { ConfigError, DuplicateError, errorMessage, ListenError, NotFoundError } from "../errors.ts";

/** GOST's API error codes. */
export const ApiCode = {
  Invalid: 40001,
  Duplicate: 40002,
  Failed: 40003,
  NotFound: 40004,
  SaveFailed: 40005,
} as const;

/** An error answer: HTTP status, GOST code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  /** The response body GOST sends. */
  toJSON(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

/** What the request was doing when it failed (decides between "invalid" and "failed"). */
export type ApiAction = "read" | "create" | "replace" | "delete" | "save" | "reload";

/** Shorthand for a 400/40001 answer. */
export function invalid(message: string): ApiError {
  return new ApiError(400, ApiCode.Invalid, message);
}

/** Tells whether a config error is a failure to bind or listen rather than an invalid value. */
function isStartFailure(err: ConfigError): boolean {
  return err instanceof ListenError || Object.values(Deno.errors).some((c) => err.cause instanceof c);
}

/**
 * Maps any thrown value to an API error.
 * @param err what was thrown
 * @param action what the request was doing
 * @param kind the object kind, to name the field of a duplicate
 * @returns the error answer
 * @example toApiError(new NotFoundError('services "x" not found'), "read").status // 404
 */
export function toApiError(err: unknown, action: ApiAction, kind?: string): ApiError {
  if (err instanceof ApiError) return err;
  const msg = errorMessage(err);
  if (err instanceof NotFoundError) return new ApiError(404, ApiCode.NotFound, msg, { cause: err });
  if (err instanceof DuplicateError) {
    return new ApiError(400, ApiCode.Duplicate, kind ? `${kind}.name: ${msg}` : msg, { cause: err });
  }
  if (err instanceof ConfigError) {
    if ((action === "create" || action === "replace") && isStartFailure(err)) {
      return new ApiError(500, ApiCode.Failed, msg, { cause: err });
    }
    return new ApiError(400, ApiCode.Invalid, msg, { cause: err });
  }
  if (action === "save") return new ApiError(500, ApiCode.SaveFailed, `save config failed: ${msg}`, { cause: err });
  if (action === "read") return new ApiError(500, 500, msg, { cause: err });
  return new ApiError(500, ApiCode.Failed, msg, { cause: err });
}
