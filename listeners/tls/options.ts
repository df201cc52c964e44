/**
 * TLS settings of the `tls` listener and dialer: the `tls:` block first, then GOST's URL keys that land in
 * metadata (`certFile|cert|tls.certFile`, `keyFile|key|tls.keyFile`, `caFile|ca|tls.caFile`, `secure|tls.secure`,
 * `serverName|tls.servername`). Files are read once, at `init()`.
 * @module
 */
import { ConfigError, errorMessage } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientTlsOptions, ServerTlsOptions } from "../../core/contracts.ts";
import { defaultSelfSigned } from "./cert.ts";

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
}

/** Client TLS settings, loaded. */
export interface ClientTlsMaterial {
  secure: boolean;
  /** SNI and verified name; empty = the dialed host. */
  serverName: string;
  ca?: string;
  cert?: string;
  key?: string;
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

/**
 * Loads the listener's certificate: `certFile`/`keyFile` when given; else `cert.pem` + `key.pem` from the working
 * directory when both exist; else the process-wide self-signed certificate (CN `gost.run`). `caFile` turns on mTLS.
 * @throws {ConfigError} when a file is missing or only one of certFile/keyFile is set
 */
export async function loadServerTls(tls: ServerTlsOptions | undefined, md: Metadata): Promise<ServerTlsMaterial> {
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
    return { cert: await readPem(certFile, "certificate"), key: await readPem(keyFile, "key"), ca, source: certFile };
  }
  if (await isFile("cert.pem") && await isFile("key.pem")) {
    return {
      cert: await readPem("cert.pem", "certificate"),
      key: await readPem("key.pem", "key"),
      ca,
      source: "cert.pem",
    };
  }
  const pair = await defaultSelfSigned();
  return { ...pair, ca, source: "self-signed" };
}

/**
 * Loads a dialer's client settings (`secure` defaults to false: skip verification, as GOST).
 * @throws {ConfigError} on unreadable files, half a client certificate, or a bad `secure` value
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
  };
}
