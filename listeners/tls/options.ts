/**
 * TLS settings of the `tls` listener and dialer: the `tls:` block first, then GOST's URL keys that land in
 * metadata (`certFile|cert|tls.certFile`, `keyFile|key|tls.keyFile`, `caFile|ca|tls.caFile`, `secure|tls.secure`,
 * `serverName|tls.servername`, and the protocol options of ./protocol.ts). Files are read once, at `init()`.
 * @module
 */
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { parseDuration } from "../../core/metadata.ts";
import type { ClientTlsOptions, ServerTlsOptions } from "../../core/contracts.ts";
import type { SecureContext } from "node:tls";
import { defaultSelfSigned, generateSelfSigned, type SelfSignedOptions } from "./cert.ts";
import { parseProtocolOptions, type TlsProtocolOptions } from "./protocol.ts";

/**
 * A `tls:` block as the config hands it over: the typed fields plus GOST's `options` and the self-signed
 * certificate fields (`commonName`, `organization`, `validity`), checked here.
 */
type TlsBlock = { options?: unknown; commonName?: unknown; organization?: unknown; validity?: unknown };

/** Keys of GOST's `tls:` block this port refuses rather than ignores. */
const UNSUPPORTED_SERVER_KEYS = ["rejectUnknownSNI", "serverNames"];

/** GOST's TLS handshake deadline. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const CERT_KEYS = ["certFile", "cert", "tls.certFile"];
const KEY_KEYS = ["keyFile", "key", "tls.keyFile"];
const CA_KEYS = ["caFile", "ca", "tls.caFile"];

/** Server certificate material, loaded. */
export interface ServerTlsMaterial {
  cert: string;
  key: string;
  /** PEM CAs that client certificates must chain to; set = mTLS. */
  ca?: string;
  /** Where the certificate came from: a path, `cert.pem` in the working directory, or `self-signed`. */
  source: string;
  /** TLS versions and ALPN protocols accepted. */
  protocol: TlsProtocolOptions;
}

/** Client TLS settings, loaded. */
export interface ClientTlsMaterial {
  secure: boolean;
  /** SNI and verified name; empty = the dialed host. */
  serverName: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** TLS versions and ALPN protocols offered. */
  protocol: TlsProtocolOptions;
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`Cannot read TLS ${what} "${path}": ${errorMessage(err)}`, { cause: err });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function textField(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError(`tls.${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** The self-signed certificate fields of a `tls:` block; null when none is set (the process-wide default). */
function selfSignedFields(tls: TlsBlock | undefined): SelfSignedOptions | null {
  const commonName = textField("commonName", tls?.commonName);
  const organization = textField("organization", tls?.organization);
  const v = tls?.validity;
  const validityMs = v === undefined || v === null || v === "" ? undefined : parseDuration(v, "tls.validity");
  if (validityMs !== undefined && validityMs <= 0) {
    throw new ConfigError(`tls.validity must be positive, got ${JSON.stringify(v)}`);
  }
  if (commonName === undefined && organization === undefined && validityMs === undefined) return null;
  return { commonName, organization, validityMs };
}

/**
 * Loads the listener's certificate and protocol options. The certificate: `certFile`/`keyFile` when given; else a
 * self-signed one made for this listener when the block sets `commonName`, `organization` or `validity`; else
 * `cert.pem` + `key.pem` from the working directory when both exist; else the process-wide self-signed certificate
 * (CN `gost.run`). `caFile` turns on mTLS.
 * @throws {ConfigError} when a file is missing, only one of certFile/keyFile is set, certFile comes with
 *   self-signed fields, a field has a bad value, or a protocol option is not understood (./protocol.ts)
 */
export async function loadServerTls(tls: ServerTlsOptions | undefined, md: Metadata): Promise<ServerTlsMaterial> {
  const block = tls as (ServerTlsOptions & TlsBlock & Record<string, unknown>) | undefined;
  for (const k of UNSUPPORTED_SERVER_KEYS) {
    if (block?.[k] !== undefined) {
      throw new ConfigError(`tls.${k} is not supported by the tls listener (got ${JSON.stringify(block[k])})`);
    }
  }
  const protocol = parseProtocolOptions(block?.options, md);
  const selfSigned = selfSignedFields(block);
  const certFile = tls?.certFile || md.string(CERT_KEYS);
  const keyFile = tls?.keyFile || md.string(KEY_KEYS);
  const caFile = tls?.caFile || md.string(CA_KEYS);
  const ca = caFile ? await readPem(caFile, "CA file") : undefined;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) {
      throw new ConfigError(
        `TLS needs both certFile and keyFile (got ${certFile ? `certFile "${certFile}"` : `keyFile "${keyFile}"`})`,
      );
    }
    if (selfSigned) {
      throw new ConfigError(
        `tls.commonName, tls.organization and tls.validity describe the self-signed certificate; they cannot be ` +
          `used with certFile "${certFile}"`,
      );
    }
    return {
      cert: await readPem(certFile, "certificate"),
      key: await readPem(keyFile, "key"),
      ca,
      source: certFile,
      protocol,
    };
  }
  if (selfSigned) {
    const pair = await generateSelfSigned(selfSigned);
    return { ...pair, ca, source: `self-signed (CN ${selfSigned.commonName ?? "gost.run"})`, protocol };
  }
  if (await isFile("cert.pem") && await isFile("key.pem")) {
    return {
      cert: await readPem("cert.pem", "certificate"),
      key: await readPem("key.pem", "key"),
      ca,
      source: "cert.pem",
      protocol,
    };
  }
  const pair = await defaultSelfSigned();
  return { ...pair, ca, source: "self-signed", protocol };
}

/**
 * Loads a dialer's client settings (`secure` defaults to false: skip verification, as GOST).
 * @throws {ConfigError} on unreadable files, half a client certificate, a bad `secure` value or protocol option
 */
export async function loadClientTls(tls: ClientTlsOptions | undefined, md: Metadata): Promise<ClientTlsMaterial> {
  const certFile = tls?.certFile || md.string(CERT_KEYS);
  const keyFile = tls?.keyFile || md.string(KEY_KEYS);
  const caFile = tls?.caFile || md.string(CA_KEYS);
  if ((certFile || keyFile) && !(certFile && keyFile)) {
    throw new ConfigError(
      `TLS client certificate needs both certFile and keyFile (got ${
        certFile ? `certFile "${certFile}"` : `keyFile "${keyFile}"`
      })`,
    );
  }
  return {
    secure: tls?.secure ?? md.bool(["secure", "tls.secure"]),
    serverName: md.string(["serverName", "tls.servername"]) || tls?.serverName || "",
    ca: caFile ? await readPem(caFile, "CA file") : undefined,
    cert: certFile ? await readPem(certFile, "client certificate") : undefined,
    key: keyFile ? await readPem(keyFile, "client key") : undefined,
    protocol: parseProtocolOptions((tls as TlsBlock | undefined)?.options, md),
  };
}

/**
 * The `node:tls` context of a server's loaded material (certificate, key, client CA, protocol versions).
 * @throws {ConfigError} naming the certificate's source when `node:tls` refuses the certificate or key
 */
export async function serverSecureContext(m: ServerTlsMaterial): Promise<SecureContext> {
  try {
    const { createSecureContext } = await import("node:tls");
    const { minVersion, maxVersion } = m.protocol;
    return createSecureContext({ cert: m.cert, key: m.key, ca: m.ca, minVersion, maxVersion });
  } catch (err) {
    throw new ConfigError(`Invalid TLS certificate or key (${m.source}): ${errorMessage(err)}`, { cause: err });
  }
}
