/**
 * Helpers of the Web API tests: a gost.ts process started with `-api` (ready once its API answers), raw HTTP
 * exchanges whose bytes the test controls, and small JSON calls.
 * @module
 */
import { startGost } from "./gost.ts";
import { exchange as rawExchange } from "./io.ts";

/** A running gost.ts process with its API. */
export interface ApiProcess {
  child: Deno.ChildProcess;
  /** Log lines (stderr) seen so far. */
  lines: string[];
  /** `http://127.0.0.1:PORT` (plus the path prefix). */
  base: string;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts gost.ts and resolves once the log says `api server on` (and `listening` services listen).
 * @throws when it exits or 20 s pass first
 */
export async function startApi(
  args: string[],
  opts: { apiPort: number; prefix?: string; cwd?: string; listening?: number },
): Promise<ApiProcess> {
  let api = false;
  const want = opts.listening ?? 0;
  const p = await startGost(args, {
    cwd: opts.cwd,
    what: "its API was up",
    ready: (line, listening) => {
      if (/api server on/.test(line)) api = true;
      return api && listening >= want;
    },
  });
  return { ...p, base: `http://127.0.0.1:${opts.apiPort}${opts.prefix ?? ""}` };
}

/** A JSON answer. */
export interface JsonReply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

/** Calls the API with fetch and parses the JSON answer. */
export async function call(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const res = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Sends raw bytes on a new TCP conn and reads until the peer closes; returns the bytes read. */
export async function exchange(port: number, request: string): Promise<Uint8Array> {
  return (await rawExchange(port, request, { timeoutMs: 30_000 })).bytes;
}
