/**
 * Client authentication. Unlike GOST, an empty stored password never accepts anything.
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Authenticator } from "../contracts.ts";
import { type AuthEntry, parseAuthFile, problemLines, readAuthText } from "./auth_file.ts";

export type { AuthEntry } from "./auth_file.ts";

export type { Authenticator } from "../contracts.ts";

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * An authenticator over a fixed list of users.
 * @example
 * const auth = new StaticAuthenticator([{ username: "u", password: "p" }]);
 * auth.authenticate("u", "p") // "u"
 */
export class StaticAuthenticator implements Authenticator {
  readonly #users = new Map<string, string>();

  /** The users of `entries` (entries without a user name are skipped). */
  constructor(entries: AuthEntry[]) {
    for (const e of entries) if (e.username) this.#users.set(e.username, e.password ?? "");
  }

  /** Number of users. */
  get size(): number {
    return this.#users.size;
  }

  /** `username` when the password matches (compared in constant time), else null. */
  authenticate(username: string, password: string): string | null {
    const stored = this.#users.get(username);
    if (stored === undefined || stored === "" || password === "") return null;
    return constantTimeEqual(stored, password) ? username : null;
  }
}

/** Any member accepting is enough (GOST's auther group). */
export class AuthenticatorGroup implements Authenticator {
  readonly #members: Authenticator[];
  /** A group of `members`, asked in order. */
  constructor(members: Authenticator[]) {
    this.#members = members;
  }
  /** The first member's id that accepts, else null. */
  authenticate(username: string, password: string): string | null {
    for (const m of this.#members) {
      const id = m.authenticate(username, password);
      if (id !== null) return id;
    }
    return null;
  }
}

/** The registry side a {@link NamedAuthenticator} needs. */
export interface AutherLookup {
  /** Authers by name. */
  readonly authers: { get(name: string): Authenticator | undefined };
}

/**
 * Authenticators referenced by name (`handler.auther`/`authers`), looked up at each attempt so the API can
 * replace them; any member accepting is enough. An undefined name accepts nobody.
 */
export class NamedAuthenticator implements Authenticator {
  readonly #names: string[];
  readonly #reg: AutherLookup;
  /** Looks `names` up in `reg` at every attempt. */
  constructor(names: string[], reg: AutherLookup) {
    this.#names = names;
    this.#reg = reg;
  }
  /** The first named auther's id that accepts, else null. */
  authenticate(username: string, password: string): string | null {
    for (const name of this.#names) {
      const id = this.#reg.authers.get(name)?.authenticate(username, password) ?? null;
      if (id !== null) return id;
    }
    return null;
  }
}

/**
 * Warns about each user with an empty password: such a user can never log in (GOST accepts any password for it).
 * @param owner what the users belong to, for the message (`service web-proxy`, `auther a1`)
 * @example warnEmptyPasswords([{ username: "alice", password: "" }], "service s", logger)
 * // warn: service s: user "alice" has an empty password and can never log in
 */
export function warnEmptyPasswords(entries: AuthEntry[], owner: string, logger: Logger): void {
  for (const e of entries) {
    if (e.username && !e.password) {
      logger.warn(`${owner}: user ${JSON.stringify(e.username)} has an empty password and can never log in`);
    }
  }
}

/**
 * Reads the users of an auth file in GOST's format (core/routing/auth_file.ts): lines without a password, with
 * control characters or repeating a user are passed to `warn` (naming the file and the line); the good lines apply.
 * @throws {Error} when the file cannot be read, is not a regular file or is bigger than 1 MiB
 * @example readAuthFile("/etc/gost/users", (m) => logger.warn(m)) // [{ username: "alice", password: "s3cret" }]
 */
export function readAuthFile(path: string, warn?: (message: string) => void): AuthEntry[] {
  const { entries, problems } = parseAuthFile(readAuthText(path), true);
  if (warn) { for (const line of problemLines(path, problems)) warn(line); }
  return entries.map(({ username, password }) => ({ username, password }));
}

/** The users of an `auth` block (inline or from its file); `warn` gets the file's bad lines. */
export function authEntries(
  auth: { username?: string; password?: string; file?: string } | undefined,
  warn?: (message: string) => void,
): AuthEntry[] {
  if (!auth) return [];
  if (auth.file) return readAuthFile(auth.file, warn);
  return auth.username ? [{ username: auth.username, password: auth.password ?? "" }] : [];
}

/**
 * The authenticator of a server block with GOST's `auth` (one user, or a file of users) and `auther` (a named
 * auther, looked up at each request) keys, any accepting being enough: the Web API's and the metrics server's.
 * Users with an empty password are warned about (they can never log in).
 * @param owner the block's name, for messages (`api`, `metrics`)
 * @returns undefined when neither key is set (no authentication)
 * @throws {ConfigError} naming `<owner>.auth.file` when the auth file cannot be read
 */
export function blockAuthenticator(
  cfg: { auth?: { username?: string; password?: string; file?: string }; auther?: string },
  reg: AutherLookup,
  owner: string,
  logger?: Logger,
): Authenticator | undefined {
  const members: Authenticator[] = [];
  let entries;
  try {
    entries = authEntries(cfg.auth, logger && ((m) => logger.warn(`${owner}: ${m}`)));
  } catch (err) {
    throw new ConfigError(`${owner}.auth.file: cannot read auth file: ${errorMessage(err)}`, { cause: err });
  }
  if (logger) warnEmptyPasswords(entries, owner, logger);
  if (entries.length) members.push(new StaticAuthenticator(entries));
  if (cfg.auther) members.push(new NamedAuthenticator([cfg.auther], reg));
  if (!members.length) return undefined;
  return members.length === 1 ? members[0] : new AuthenticatorGroup(members);
}

/** Credentials from a Basic header. */
export interface Credentials {
  /** The user name. */
  username: string;
  /** The password. */
  password: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `Basic` SP token68, strictly (RFC 7235 §2.1, RFC 7617 §2): the scheme in any case, then one or more SP (not HTAB),
 * then base64 (RFC 4648 §4: `A-Z a-z 0-9 + /`, a length that is a multiple of 4, `=` padding only at the end), and
 * nothing else: no whitespace, CR or LF around or inside the token. Whitespace around the whole field value is
 * HTTP's OWS (RFC 9110 §5.5), which the head parser strips before the value gets here.
 */
const BASIC = /^basic +((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/i;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Decodes `Basic <base64(user:pass)>` as sent in `Authorization` and `Proxy-Authorization`, strictly: see
 * {@link BASIC} for the syntax. The decoded user-pass must be valid UTF-8, contain `:` (the user-id is what comes
 * before the first one) and no control characters (RFC 7617 §2). Anything else is no credentials at all: the
 * caller answers 401/407.
 * @returns the credentials, or null when the header is absent or not valid Basic
 * @example parseBasicCredentials("Basic dTpw") // { username: "u", password: "p" }
 */
export function parseBasicCredentials(value: string | null | undefined): Credentials | null {
  const m = value ? BASIC.exec(value) : null;
  if (!m || !m[1]) return null;
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0 || CONTROL.test(text)) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
