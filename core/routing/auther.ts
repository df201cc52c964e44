/**
 * The live object of a named auther (`authers: [{name, auths, file: {path}, reload}]`, README.md,
 * "Authentication"): inline users, plus a file's users re-read every `reload` period. GOST's other sources
 * (`redis`, `http`, `plugin`) are refused by name.
 * @module
 */
import type { Authenticator } from "../contracts.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { authEntries, StaticAuthenticator, warnEmptyPasswords } from "./auth.ts";
import { FileAuthenticator } from "./auth_reload.ts";
import { fileSettings } from "./file_source.ts";

/** The auther keys gost.ts reads. */
const SUPPORTED = "auths, file.path, reload";
/** GOST's auther sources gost.ts does not have. */
const REFUSED = ["redis", "http", "plugin"] as const;

/** An auther's config as read here. */
interface AutherShape {
  name: string;
  auths?: { username?: string; password?: string }[];
  file?: { path?: string };
  reload?: unknown;
  [key: string]: unknown;
}

/**
 * Builds an auther. With `file`, a {@link FileAuthenticator} (close it when the auther is replaced or removed).
 * @throws {ConfigError} naming `authers.<name>.<key>`: a refused source, a bad `reload`, an unreadable file
 * @example buildAuther({ name: "a", file: { path: "/etc/gost/users" }, reload: "10s" }, logger)
 */
export function buildAuther(cfg: Record<string, unknown> & { name: string }, logger: Logger): Authenticator {
  const a = cfg as AutherShape;
  for (const key of REFUSED) {
    const v = a[key];
    if (v === undefined || v === null) continue;
    throw new ConfigError(
      `authers.${a.name}.${key}: the ${key} source of authers is not supported by gost.ts yet ` +
        `(got ${JSON.stringify(v)}): supported are ${SUPPORTED}`,
    );
  }
  const { path, reloadMs } = fileSettings(`authers.${a.name}`, a);
  const owner = `auther ${a.name}`;
  const inline = (a.auths ?? []).flatMap((x) => authEntries(x));
  warnEmptyPasswords(inline, owner, logger);
  if (!path) return new StaticAuthenticator(inline);
  try {
    return FileAuthenticator.open({ owner, path, inline, reloadMs, logger });
  } catch (err) {
    throw new ConfigError(`authers.${a.name}.file.path: cannot read auth file: ${errorMessage(err)}`, { cause: err });
  }
}
