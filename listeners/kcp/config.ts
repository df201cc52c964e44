/**
 * The kcp transport's settings: GOST's x/internal/util/kcp `Config` (kcptun's JSON keys) from, in order, the
 * defaults, the JSON file `kcp.configFile` (`configFile`, `c`), the map `kcp.config` (`config`) and the single keys
 * `kcp.key`, `kcp.crypt`, `kcp.mode`, `kcp.mtu`, `kcp.sndwnd`, `kcp.rcvwnd`, `kcp.interval`, `kcp.keepalive`,
 * `kcp.smuxver`, `kcp.smuxbuf`, `kcp.streambuf`, `kcp.nocomp`, `kcp.tcp` (listeners/kcp/mod.ts has the table and
 * how this differs from GOST).
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { checkCrypt, type CryptName } from "./crypt.ts";

/** One side's settings, as GOST's `Config` after `Init()`. */
export interface KcpConfig {
  /** The pre-shared secret (before pbkdf2). */
  key: string;
  crypt: CryptName;
  /** `normal`, `fast`, `fast2`, `fast3` (profiles of nodelay/interval/resend/nc) or `manual`. */
  mode: string;
  /** Largest datagram, headers included. */
  mtu: number;
  /** Send window, in segments. */
  sndwnd: number;
  /** Receive window, in segments. */
  rcvwnd: number;
  /** Reed-Solomon data shards per group (0: no FEC). */
  datashard: number;
  /** Parity shards per group (0: no FEC). */
  parityshard: number;
  /** No snappy stream between KCP and smux. */
  nocomp: boolean;
  /** Acknowledge every datagram at once instead of on the next flush. */
  acknodelay: boolean;
  nodelay: number;
  /** Flush interval, ms (10–5000). */
  interval: number;
  /** Fast retransmit after this many later acks (0: off). */
  resend: number;
  /** 1: no congestion window. */
  nc: number;
  /** GOST's socket buffer size: the base of smuxbuf/streambuf (Deno cannot size a UDP socket's buffers). */
  sockbuf: number;
  smuxver: 1 | 2;
  /** smux receive buffer of the session, bytes. */
  smuxbuf: number;
  /** smux v2 per-stream window, bytes. */
  streambuf: number;
  /** smux keep-alive interval, seconds. */
  keepalive: number;
}

/** GOST's `DefaultConfig` (x/internal/util/kcp), except the key: see {@link parseKcpConfig}. */
export const KCP_DEFAULTS: Readonly<KcpConfig> = Object.freeze({
  key: "",
  crypt: "aes",
  mode: "fast",
  mtu: 1350,
  sndwnd: 1024,
  rcvwnd: 1024,
  datashard: 10,
  parityshard: 3,
  nocomp: false,
  acknodelay: false,
  nodelay: 0,
  interval: 50,
  resend: 0,
  nc: 0,
  sockbuf: 4_194_304,
  smuxver: 1,
  smuxbuf: 4_194_304,
  streambuf: 2_097_152,
  keepalive: 10,
});

/** The mode profiles: nodelay, interval, resend, nc (kcptun's and GOST's `Init`). */
export const KCP_MODES: Readonly<Record<string, readonly [number, number, number, number]>> = {
  normal: [0, 40, 2, 1],
  fast: [0, 30, 2, 1],
  fast2: [1, 20, 2, 1],
  fast3: [1, 10, 2, 1],
};

/** kcp-go's largest datagram. */
export const MTU_LIMIT = 1500;
/** smux's keep-alive timeout (the kcp keys do not set it): `keepalive` must not exceed it. */
export const SMUX_KEEPALIVE_TIMEOUT_S = 30;

/** The JSON keys of GOST's `Config` (kcptun's names), with the kind of value. */
const FIELDS: Readonly<Record<string, "string" | "int" | "bool">> = {
  key: "string",
  crypt: "string",
  mode: "string",
  mtu: "int",
  sndwnd: "int",
  rcvwnd: "int",
  datashard: "int",
  parityshard: "int",
  dscp: "int",
  nocomp: "bool",
  acknodelay: "bool",
  nodelay: "int",
  interval: "int",
  resend: "int",
  nc: "int",
  sockbuf: "int",
  smuxbuf: "int",
  streambuf: "int",
  smuxver: "int",
  keepalive: "int",
  snmplog: "string",
  snmpperiod: "int",
  signal: "bool",
  tcp: "bool",
};

/** Fields whose 0 means "not set" (kcp-go and smux treat 0 as "keep the default" or refuse it). */
const ZERO_IS_UNSET = new Set(["mtu", "sndwnd", "rcvwnd", "interval", "keepalive", "smuxbuf", "streambuf", "sockbuf"]);

/** The single metadata keys GOST reads, with the field each sets. */
const SINGLE_KEYS: readonly (readonly [string[], string])[] = [
  [["kcp.tcp", "tcp"], "tcp"],
  [["kcp.key"], "key"],
  [["kcp.crypt"], "crypt"],
  [["kcp.mode"], "mode"],
  [["kcp.keepalive"], "keepalive"],
  [["kcp.interval"], "interval"],
  [["kcp.mtu"], "mtu"],
  [["kcp.rcvwnd"], "rcvwnd"],
  [["kcp.sndwnd"], "sndwnd"],
  [["kcp.smuxver"], "smuxver"],
  [["kcp.smuxbuf"], "smuxbuf"],
  [["kcp.streambuf"], "streambuf"],
  [["kcp.nocomp"], "nocomp"],
];

type Value = string | number | boolean;
/** The fields set so far, each with where it came from (for messages: `"kcp.mtu"`, `"kcp.config" field "mtu"`). */
type Raw = Map<string, { value: Value; label: string }>;

/** Coerces one field's value (from JSON or a URL) to its kind. */
function coerce(field: string, value: unknown, label: string): Value {
  const kind = FIELDS[field];
  if (kind === "string") {
    if (typeof value === "string") return value;
    throw new ConfigError(`kcp: ${label} must be a string, got ${JSON.stringify(value)}`);
  }
  if (kind === "bool") {
    if (typeof value === "boolean") return value;
    const s = String(value).toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off", ""].includes(s)) return false;
    throw new ConfigError(`kcp: ${label} must be a boolean, got ${JSON.stringify(value)}`);
  }
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(n)) throw new ConfigError(`kcp: ${label} must be an integer, got ${JSON.stringify(value)}`);
  if (n < 0) throw new ConfigError(`kcp: ${label} must not be negative, got ${n}`);
  return n;
}

/** Adds the known fields of a JSON object (file or map); other keys are left alone, as Go's JSON decoder does. */
function addFields(raw: Raw, obj: unknown, where: string): void {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`kcp: ${where} must be a JSON object`);
  }
  for (const [k, v] of Object.entries(obj)) {
    const field = k.toLowerCase();
    if (!(field in FIELDS) || v === null || v === undefined) continue;
    const label = `${where} field "${k}"`;
    const value = coerce(field, v, label);
    if (value === 0 && ZERO_IS_UNSET.has(field)) continue;
    raw.set(field, { value, label });
  }
}

/** Adds the fields of the `kcp.configFile` JSON, read at init. */
function addFile(raw: Raw, path: string, key: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new ConfigError(`kcp: "${key}" = "${path}": cannot read it: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`kcp: "${key}" = "${path}" is not JSON: ${(err as Error).message}`, { cause: err });
  }
  addFields(raw, json, `"${key}" (${path})`);
}

/** Adds the fields of the `kcp.config` map (an object, or its JSON text from a URL). */
function addMap(raw: Raw, value: unknown, key: string): void {
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new ConfigError(`kcp: "${key}" is not a JSON object: ${(err as Error).message}`, { cause: err });
    }
  }
  addFields(raw, value, `"${key}"`);
}

/** What {@link parseKcpConfig} read, beside the config. */
export interface ParsedKcpConfig {
  config: KcpConfig;
  /** True when `sockbuf` was set (it cannot size the socket here: the caller warns). */
  sockbufSet: boolean;
}

/**
 * Reads a side's kcp settings from `md` (see the module doc).
 *
 * Differences from GOST, whose metadata parser overwrites the `key`, `crypt`, `mode`, `mtu`, `sndwnd`, `rcvwnd`,
 * `interval`, `keepalive`, `smuxver`, `smuxbuf`, `streambuf` and `nocomp` of the file or map with the `kcp.*` key,
 * or its zero value when that key is absent: here a `kcp.*` key overrides only when set, so the documented defaults
 * and the file's values hold. The default key is the empty string, what GOST's code runs with (its documentation
 * says "it's a secrect", which the parser overwrites): `-F kcp://host:port` then talks to GOST's `-L kcp://:port`.
 * An explicit profile (`mode` other than `manual`) sets nodelay/interval/resend/nc, as in GOST and kcptun; with no
 * `mode` given anywhere, setting one of those four means `manual`.
 * @throws {ConfigError} naming the key on a bad value, `tcp=true`, `dscp` above 0 or `snmplog` set (not implemented)
 */
export function parseKcpConfig(md: Metadata): ParsedKcpConfig {
  const raw: Raw = new Map();
  const set = (v: unknown) => v !== "" && v !== null && v !== undefined;
  const file = md.find(["kcp.configFile", "configFile", "c"]);
  if (file && set(file[1])) addFile(raw, String(file[1]), file[0]);
  const map = md.find(["kcp.config", "config"]);
  if (map && set(map[1])) addMap(raw, map[1], map[0]);
  for (const [keys, field] of SINGLE_KEYS) {
    const hit = md.find(keys);
    if (!hit || !set(hit[1])) continue;
    const label = `"${hit[0]}"`;
    const value = coerce(field, hit[1], label);
    if (value === 0 && ZERO_IS_UNSET.has(field)) continue;
    raw.set(field, { value, label });
  }
  const get = (f: string) => raw.get(f)?.value;
  const label = (f: string) => raw.get(f)?.label ?? `"${f}"`;

  if (get("tcp") === true) {
    throw new ConfigError(
      `kcp: ${label("tcp")} = true is not supported by gost.ts: it needs raw sockets (GOST's tcpraw); KCP runs ` +
        "over UDP only",
    );
  }
  const dscp = get("dscp");
  if (typeof dscp === "number" && dscp > 0) {
    throw new ConfigError(
      `kcp: ${label("dscp")} = ${dscp} is not supported: Deno cannot set a UDP socket's TOS; use 0`,
    );
  }
  const snmplog = get("snmplog");
  if (typeof snmplog === "string" && snmplog !== "") {
    throw new ConfigError(`kcp: ${label("snmplog")} = "${snmplog}" is not supported by gost.ts: leave it empty`);
  }

  const c: KcpConfig = { ...KCP_DEFAULTS };
  for (const f of Object.keys(c) as (keyof KcpConfig)[]) {
    if (raw.has(f)) (c as unknown as Record<string, Value>)[f] = raw.get(f)!.value;
  }
  c.crypt = checkCrypt(String(get("crypt") ?? KCP_DEFAULTS.crypt), label("crypt"));
  const tuned = ["nodelay", "interval", "resend", "nc"].some((f) => raw.has(f));
  c.mode = String(get("mode") ?? (tuned ? "manual" : KCP_DEFAULTS.mode));
  const profile = KCP_MODES[c.mode];
  if (profile) [c.nodelay, c.interval, c.resend, c.nc] = profile;
  else if (c.mode !== "manual") {
    throw new ConfigError(
      `kcp: ${label("mode")} = "${c.mode}" is not a mode: use normal, fast, fast2, fast3 or manual (GOST would ` +
        "keep the values as manual does)",
    );
  }
  if (!raw.has("smuxbuf")) c.smuxbuf = c.sockbuf;
  if (!raw.has("streambuf")) c.streambuf = Math.floor(c.sockbuf / 2);
  check(c, label);
  return { config: c, sockbufSet: raw.has("sockbuf") };
}

function check(c: KcpConfig, label: (field: string) => string): void {
  const range = (name: string, v: number, min: number, max: number) => {
    if (v < min || v > max) throw new ConfigError(`kcp: ${label(name)} must be between ${min} and ${max}, got ${v}`);
  };
  range("mtu", c.mtu, 100, MTU_LIMIT);
  range("sndwnd", c.sndwnd, 1, 65535);
  range("rcvwnd", c.rcvwnd, 1, 65535);
  range("interval", c.interval, 10, 5000);
  range("nodelay", c.nodelay, 0, 1);
  range("nc", c.nc, 0, 1);
  range("resend", c.resend, 0, 65535);
  range("keepalive", c.keepalive, 1, SMUX_KEEPALIVE_TIMEOUT_S);
  if (c.smuxver !== 1 && c.smuxver !== 2) {
    throw new ConfigError(`kcp: ${label("smuxver")} must be 1 or 2, got ${c.smuxver}`);
  }
  range("smuxbuf", c.smuxbuf, 1, 2 ** 31 - 1);
  range("streambuf", c.streambuf, 1, 2 ** 31 - 1);
  if (c.smuxver === 2 && c.streambuf > c.smuxbuf) {
    throw new ConfigError(
      `kcp: ${label("streambuf")} (${c.streambuf}) must not be larger than ${label("smuxbuf")} (${c.smuxbuf})`,
    );
  }
  if (c.datashard > 0 && c.parityshard > 0) {
    if (c.datashard + c.parityshard > 255) {
      throw new ConfigError(
        `kcp: ${label("datashard")} + ${label("parityshard")} must be at most 255, got ` +
          `${c.datashard + c.parityshard}`,
      );
    }
  }
}

/** True when the config runs FEC (both shard counts above 0, as kcp-go requires). */
export function fecOn(c: KcpConfig): boolean {
  return c.datashard > 0 && c.parityshard > 0;
}
