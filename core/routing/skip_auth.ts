/**
 * GOST's `skipauth` handler metadata (README.md, "Authentication"): clients whose IP matches one of its IPs or
 * CIDRs are served without authentication, by any handler that authenticates. The service holds two instances of
 * its handler, one with the authenticator and one without, and hands each conn to one of them by the client's
 * address, so a listed client needs no credentials in any protocol (a SOCKS5 client may offer "no auth").
 * @module
 */
import type { Conn } from "../conn.ts";
import type { ConnContext, Handler } from "../contracts.ts";
import { ConfigError } from "../errors.ts";
import type { Metadata } from "../metadata.ts";
import { AddressMatcher, compilePattern, type Pattern, splitAddr } from "./matcher.ts";

/** Tells whether a client (`host:port`) skips authentication. */
export type SkipAuthCheck = (src: string) => boolean;

function compileSkip(entry: string): Pattern {
  let p: Pattern | undefined;
  try {
    p = compilePattern(entry);
  } catch {
    // reported below with what is accepted
  }
  if (p && (p.kind === "cidr" || (p.kind === "ip" && p.ports === null))) return p;
  throw new ConfigError(`skipauth: "${entry}" is not an IP address or a CIDR (such as 192.168.1.1 or 10.0.0.0/8)`);
}

/**
 * The `skipauth` list of a handler's metadata: a YAML/JSON list or a comma-separated string of IPs and CIDRs.
 * @returns the check, or undefined when the key is absent or empty
 * @throws {ConfigError} naming an entry that is not an IP or a CIDR (GOST ignores such entries)
 * @example parseSkipAuth(new Metadata({ skipauth: "10.0.0.0/8,192.168.1.1" }))!("10.1.2.3:5000") // true
 */
export function parseSkipAuth(md: Metadata): SkipAuthCheck | undefined {
  const list = md.strings("skipauth").map((s) => s.trim()).filter(Boolean);
  if (!list.length) return undefined;
  const matcher = new AddressMatcher(list.map(compileSkip));
  return (src) => {
    if (!src) return false;
    const { ip } = splitAddr(src);
    return ip !== null && matcher.match(src);
  };
}

/**
 * One service's handler with `skipauth`: conns from listed clients go to the instance built without the
 * authenticator, every other conn to the one with it.
 * @example const h = new SkipAuthHandler(withAuth, withoutAuth, parseSkipAuth(md)!); await h.init(md);
 */
export class SkipAuthHandler implements Handler {
  readonly #authed: Handler;
  readonly #open: Handler;
  readonly #skip: SkipAuthCheck;

  /**
   * @param authed the handler built with the service's authenticator
   * @param open the same handler built without one
   * @param skip which clients go to `open`
   */
  constructor(authed: Handler, open: Handler, skip: SkipAuthCheck) {
    this.#authed = authed;
    this.#open = open;
    this.#skip = skip;
  }

  /** Initialises both instances with the same metadata. */
  async init(md: Metadata): Promise<void> {
    await Promise.all([this.#authed.init(md), this.#open.init(md)]);
  }

  /** Serves `conn` with the instance its client's address selects. */
  handle(conn: Conn, ctx: ConnContext): Promise<void> {
    if (this.#skip(ctx.src)) {
      ctx.logger.debug(`skipauth: ${ctx.src} is served without authentication`);
      return this.#open.handle(conn, ctx);
    }
    return this.#authed.handle(conn, ctx);
  }

  /** Closes both instances. */
  close(): void {
    try {
      this.#authed.close?.();
    } finally {
      this.#open.close?.();
    }
  }
}
