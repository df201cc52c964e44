/**
 * Turns `-L` service URLs and `-F` node URLs into a config, with GOST's generated names (`service-N`, `chain-0`,
 * `hop-N`, `node-N`, `target-N`, `bypass-N`, …), scheme fallbacks and query-key routing (README, "Command line").
 * @module
 */
import { fallbackOf, findType, type PluginInfo } from "../capabilities.ts";
import { ConfigError } from "../errors.ts";
import { Metadata } from "../metadata.ts";
import { GOST_CONNECTORS, GOST_DIALERS, GOST_HANDLERS, GOST_LISTENERS } from "./gost_names.ts";
import { decodeAuthParam, expandPortRange, type NodeUrl, parseNodeUrl } from "./node_url.ts";
import { LIST_KEYS } from "./types.ts";
import type {
  AuthConfig,
  ChainConfig,
  Config,
  ForwardNodeConfig,
  HopConfig,
  SelectorConfig,
  ServiceConfig,
} from "./types.ts";

/** The type names this build implements, to tell a fallback from an unsupported GOST type. */
export interface KnownTypes {
  /** Handler types this build registers. */
  handlers: ReadonlySet<string>;
  /** Listener types this build registers. */
  listeners: ReadonlySet<string>;
  /**
   * What the registrations say about their types (a `Registries` is one): the fallback types and the CLI hints of
   * core/capabilities.ts, which carry GOST's scheme rules.
   */
  info: PluginInfo;
}

type Md = Record<string, unknown>;

function pick(
  type: string,
  ours: ReadonlySet<string> | null,
  gost: ReadonlySet<string>,
  fallback: string,
  kind: string,
) {
  if (ours ? ours.has(type) : gost.has(type)) return type;
  if (gost.has(type)) {
    throw new ConfigError(
      `${kind} type "${type}" is not supported by gost.ts yet: supported are ${[...(ours ?? [])].sort().join(", ")}`,
    );
  }
  return fallback;
}

function take(m: Md, ...keys: string[]): string {
  for (const k of keys) {
    const found = Object.keys(m).find((x) => x.toLowerCase() === k.toLowerCase());
    if (found !== undefined) {
      const v = String(m[found]);
      for (const k2 of keys) for (const x of Object.keys(m)) if (x.toLowerCase() === k2.toLowerCase()) delete m[x];
      return v;
    }
  }
  return "";
}

function userAuth(url: NodeUrl, m: Md, base64UserInfo: boolean): AuthConfig | undefined {
  let auth: AuthConfig | undefined;
  if (url.user) {
    if (base64UserInfo && url.user.password === undefined) {
      try {
        const d = decodeAuthParam(url.user.username);
        if (d.password !== undefined) auth = d;
      } catch {
        // not SIP002: use it as a user name
      }
    }
    auth ??= {
      username: url.user.username,
      ...(url.user.password !== undefined ? { password: url.user.password } : {}),
    };
  }
  // `?auth=BASE64(user:pass)` is used when the URL has no user info, on -L and -F alike: GOST's code since go-gost/x
  // v0.10.2 (its docs still say `auth` wins); README.md, "Authentication". The key never reaches the metadata.
  const encoded = take(m, "auth");
  if (encoded && !auth) auth = decodeAuthParam(encoded);
  return auth;
}

function parseSelector(m: Md): SelectorConfig | undefined {
  const md = new Metadata(m);
  const strategy = md.string("strategy");
  const maxFails = md.int(["maxFails", "max_fails"], 0);
  const failTimeout = md.has("failTimeout", "fail_timeout") ? md.string(["failTimeout", "fail_timeout"]) : "";
  if (!strategy && maxFails <= 0 && !failTimeout) return undefined;
  take(m, "strategy");
  take(m, "maxFails", "max_fails");
  take(m, "failTimeout", "fail_timeout");
  return { strategy: strategy || "round", maxFails: maxFails > 0 ? maxFails : 1, failTimeout: failTimeout || "30s" };
}

function splitScoped(m: Md, prefixes: string[]): Md[] {
  const out = prefixes.map(() => ({} as Md));
  for (const [k, v] of Object.entries(m)) {
    const i = prefixes.findIndex((p) => k.startsWith(`${p}.`));
    if (i >= 0) out[i][k.slice(prefixes[i].length + 1)] = v;
    else for (const o of out) o[k] = v;
  }
  return out;
}

function nonEmpty<T extends object>(o: T): T | undefined {
  return Object.keys(o).length ? o : undefined;
}

/** Builds the generated objects a query key asks for (bypass, admission, resolver, hosts, limiters). */
class Generated {
  readonly cfg: Config;
  constructor(cfg: Config) {
    this.cfg = cfg;
  }
  matchers(kind: "bypasses" | "admissions", prefix: string, v: string): string {
    const list = (this.cfg[kind] ??= []);
    const name = `${prefix}-${list.length}`;
    const whitelist = v.startsWith("~");
    list.push({ name, ...(whitelist ? { whitelist } : {}), matchers: v.replace(/^~/, "").split(",").filter(Boolean) });
    return name;
  }
  resolver(v: string, prefer: string): string {
    const list = (this.cfg.resolvers ??= []);
    const name = `resolver-${list.length}`;
    list.push({
      name,
      nameservers: v.split(",").filter(Boolean).map((addr) => ({ addr, ...(prefer ? { prefer } : {}) })),
    });
    return name;
  }
  hosts(v: string): string {
    const list = (this.cfg.hosts ??= []);
    const name = `hosts-${list.length}`;
    const mappings = v.split(",").map((s) => s.split(/:(.*)/s)).filter((p) => p.length >= 2 && p[0] && p[1])
      .map(([hostname, ip]) => ({ hostname, ip }));
    list.push({ name, mappings });
    return name;
  }
}

function buildNode(raw: string, index: number, gen: Generated, info: PluginInfo): HopConfig {
  const url = parseNodeUrl(raw);
  const m: Md = { ...url.query };
  const hop: HopConfig = { name: `hop-${index}` };
  const selector = parseSelector(m);
  if (selector) hop.selector = selector;
  const bypass = take(m, "bypass");
  if (bypass) hop.bypass = gen.matchers("bypasses", "bypass", bypass);
  const resolver = take(m, "resolver");
  if (resolver) hop.resolver = gen.resolver(resolver, "");
  const hosts = take(m, "hosts");
  if (hosts) hop.hosts = gen.hosts(hosts);
  for (const k of ["interface", "so_mark", "proxyProtocol"]) {
    const v = take(m, k);
    if (v) m[`hop.${k}`] = v;
  }
  const [schemeA, schemeB] = url.scheme.split("+");
  // a registered type is used as named; any other name GOST knows is kept for the build to report
  const connector = info.connectors.names().includes(schemeA)
    ? schemeA
    : pick(schemeA, null, GOST_CONNECTORS, fallbackOf(info.connectors) ?? "", "connector");
  const connectorInfo = info.connectors.info(connector) ?? {};
  const dialerName = schemeB ?? schemeA;
  const dialerKnown = GOST_DIALERS.has(dialerName) || info.dialers.names().includes(dialerName);
  let dialer = dialerKnown ? dialerName : fallbackOf(info.dialers) ?? "";
  if (!dialerKnown && connectorInfo.defaultDialer) dialer = connectorInfo.defaultDialer;
  const dialerInfo = info.dialers.info(dialer) ?? {};
  const auth = userAuth(url, m, Boolean(connectorInfo.base64UserInfo));
  const tls: Md = {};
  const certFile = take(m, "tls.certFile", "certFile", "cert");
  const keyFile = take(m, "tls.keyFile", "keyFile", "key");
  const caFile = take(m, "tls.caFile", "caFile", "ca");
  const secure = take(m, "tls.secure", "secure");
  const serverName = take(m, "tls.servername", "serverName") || url.host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (certFile) tls.certFile = certFile;
  if (keyFile) tls.keyFile = keyFile;
  if (caFile) tls.caFile = caFile;
  if (secure === "true" || secure === "1") tls.secure = true;
  if (serverName) tls.serverName = serverName;
  const hopMd: Md = {};
  for (const [k, v] of Object.entries(m)) {
    if (/^(node|connector|dialer)\./.test(k)) continue;
    if (k.startsWith("hop.")) {
      hopMd[k.slice(4)] = v;
      delete m[k];
    } else hopMd[k] = v;
  }
  if (Object.keys(hopMd).length) hop.metadata = hopMd;
  const [nodeMd, connectorMd, dialerMd] = splitScoped(m, ["node", "connector", "dialer"]);
  const hostsList = url.host.split(",").filter(Boolean);
  if (!hostsList.length && dialerInfo.addressless) hostsList.push(""); // `-F direct://`: a node with no address
  if (!hostsList.length) throw new ConfigError(`Invalid node "${raw}": no address`);
  hop.nodes = hostsList.map((addr, i) => {
    const ssh = Boolean(dialerInfo.auth);
    return {
      name: `node-${i}`,
      addr,
      connector: {
        type: connector,
        ...(auth && !ssh ? { auth } : {}),
        ...(nonEmpty(connectorMd) ? { metadata: { ...connectorMd } } : {}),
      },
      dialer: {
        type: dialer,
        ...(auth && ssh ? { auth } : {}),
        ...(nonEmpty(tls) && tls.serverName !== undefined && dialerInfo.tls ? { tls: { ...tls } } : {}),
        ...(nonEmpty(dialerMd) ? { metadata: { ...dialerMd } } : {}),
      },
      ...(nonEmpty(nodeMd) ? { metadata: { ...nodeMd } } : {}),
    };
  });
  return hop;
}

/** Splits `scheme://user@host/path?q` into the host and the rest, so hosts with port ranges survive parsing. */
function cutHost(s: string): [string, string] {
  const start = s.indexOf("://") + 3;
  let end = s.slice(start).search(/[/?]/);
  end = end < 0 ? s.length : end + start;
  const authority = s.slice(start, end);
  const at = authority.lastIndexOf("@");
  const hostStart = at >= 0 ? start + at + 1 : start;
  return [s.slice(hostStart, end), s.slice(0, hostStart) + s.slice(end)];
}

function buildServices(raw: string, known: KnownTypes): ServiceConfig[] {
  const { info } = known;
  const fallbackHandler = fallbackOf(info.handlers) ?? "";
  let s = raw.trim();
  if (s.startsWith(":") || !s.includes("://")) s = `${fallbackHandler}://${s}`;
  const [host, rest] = cutHost(s);
  const url = parseNodeUrl(rest);
  url.host = host;
  const [schemeA, schemeB] = url.scheme.split("+");
  let handler = pick(schemeA, known.handlers, GOST_HANDLERS, fallbackHandler, "handler");
  const handlerInfo = info.handlers.info(handler) ?? {};
  const listenerName = schemeB ?? schemeA;
  let listener = pick(listenerName, known.listeners, GOST_LISTENERS, fallbackOf(info.listeners) ?? "", "listener");
  if (!GOST_LISTENERS.has(listenerName) && handlerInfo.defaultListener) listener = handlerInfo.defaultListener;
  const listenerInfo = info.listeners.info(listener) ?? {};
  const addrs = expandPortRange(url.host);
  if (!addrs.length) addrs.push(url.host);
  const nodes: ForwardNodeConfig[] = [];
  if (url.path) {
    for (const part of url.path.split(",").filter(Boolean)) {
      const expanded = expandPortRange(part);
      for (const addr of expanded.length ? expanded : [part]) nodes.push({ name: `target-${nodes.length}`, addr });
    }
    // as GOST: the listener's own forwarding handler (tcp, udp, rtcp, …), else the default one (forward)
    if (!handlerInfo.keepsTargets) {
      const forwardDefault = findType(info.handlers, (h) => h.forwardDefault) ?? "";
      handler = pick(
        listenerInfo.forwardHandler ?? forwardDefault,
        known.handlers,
        GOST_HANDLERS,
        forwardDefault,
        "handler",
      );
    }
  }
  const m: Md = { ...url.query };
  const auth = userAuth(url, m, Boolean(handlerInfo.base64UserInfo));
  const tls: Md = {};
  const certFile = take(m, "tls.certFile", "certFile", "cert");
  const keyFile = take(m, "tls.keyFile", "keyFile", "key");
  const caFile = take(m, "tls.caFile", "caFile", "ca");
  if (certFile) Object.assign(tls, { certFile, ...(keyFile ? { keyFile } : {}), ...(caFile ? { caFile } : {}) });
  if (m.dns !== undefined) m.dns = String(m.dns).split(",");
  for (const k of ["interface", "so_mark", "proxyProtocol", "netns", "netns.out"]) {
    const v = take(m, k);
    if (v) m[`service.${k}`] = v;
  }
  const selector = parseSelector(m);
  const [serviceMd, handlerMd, listenerMd] = splitScoped(m, ["service", "handler", "listener"]);
  const ssh = Boolean(listenerInfo.auth);
  return addrs.map((addr, i) => {
    const svcNodes = nodes.length <= 1 || addrs.length === 1 ? nodes : nodes[i] ? [nodes[i]] : [];
    const svc: ServiceConfig = {
      name: "",
      addr,
      handler: {
        type: handler,
        ...(auth && !ssh ? { auth: { ...auth } } : {}),
        ...(nonEmpty(handlerMd) ? { metadata: { ...handlerMd } } : {}),
      },
      listener: {
        type: listener,
        ...(auth && ssh ? { auth: { ...auth } } : {}),
        ...(nonEmpty(tls) ? { tls: { ...tls } } : {}),
        ...(nonEmpty(listenerMd) ? { metadata: { ...listenerMd } } : {}),
      },
    };
    if (svcNodes.length) svc.forwarder = { ...(selector ? { selector } : {}), nodes: svcNodes.map((n) => ({ ...n })) };
    if (nonEmpty(serviceMd)) svc.metadata = { ...serviceMd };
    return svc;
  });
}

/** Moves special service query keys into generated objects (README, "Command line"). */
function consumeServiceKeys(svc: ServiceConfig, gen: Generated): void {
  const mh = (svc.handler!.metadata ??= {});
  for (const md of [mh, svc.listener?.metadata, svc.metadata]) {
    if (!md) continue;
    const retries = take(md, "retries");
    if (md === mh && retries && Number(retries) > 0) svc.handler!.retries = Number(retries);
  }
  const prefer = String(mh.prefer ?? "");
  const admission = take(mh, "admission");
  if (admission) svc.admission = gen.matchers("admissions", "admission", admission);
  const bypass = take(mh, "bypass");
  if (bypass) svc.bypass = gen.matchers("bypasses", "bypass", bypass);
  const resolver = take(mh, "resolver");
  if (resolver) svc.resolver = gen.resolver(resolver, prefer);
  const hosts = take(mh, "hosts");
  if (hosts) svc.hosts = gen.hosts(hosts);
  const [lin, lout, cin, cout] = ["limiter.in", "limiter.out", "limiter.conn.in", "limiter.conn.out"].map((k) =>
    take(mh, k)
  );
  if (lin || lout || cin || cout) {
    const list = (gen.cfg.limiters ??= []);
    const limits: string[] = [];
    if (lin || lout) limits.push(`$ ${lin} ${lout}`.trimEnd());
    if (cin || cout) limits.push(`$$ ${cin} ${cout}`.trimEnd());
    svc.limiter = `limiter-${list.length}`;
    list.push({ name: svc.limiter, limits });
  }
  const climiter = Number(take(mh, "climiter"));
  if (climiter > 0) {
    const list = (gen.cfg.climiters ??= []);
    svc.climiter = `climiter-${list.length}`;
    list.push({ name: svc.climiter, limits: [`$ ${climiter}`] });
  }
  const rlimiter = Number(take(mh, "rlimiter"));
  if (rlimiter > 0) {
    const list = (gen.cfg.rlimiters ??= []);
    svc.rlimiter = `rlimiter-${list.length}`;
    list.push({ name: svc.rlimiter, limits: [`$ ${rlimiter}`] });
  }
  for (const md of [svc.listener?.metadata, svc.metadata]) {
    if (!md) continue;
    for (
      const k of [
        "admission",
        "bypass",
        "resolver",
        "hosts",
        "limiter.in",
        "limiter.out",
        "limiter.conn.in",
        "limiter.conn.out",
        "climiter",
        "rlimiter",
      ]
    ) take(md, k);
  }
  if (!Object.keys(mh).length) delete svc.handler!.metadata;
  if (svc.listener?.metadata && !Object.keys(svc.listener.metadata).length) delete svc.listener.metadata;
  if (svc.metadata && !Object.keys(svc.metadata).length) delete svc.metadata;
}

/**
 * Builds a config from `-L` and `-F` values as GOST does.
 * @param services the `-L` values
 * @param nodes the `-F` values (one hop each, all in `chain-0`)
 * @param known the handler and listener types this build implements
 * @throws {ConfigError} on a malformed URL or a GOST type gost.ts does not implement
 * @example buildConfigFromCmd([":8080"], [], known).services[0].handler.type // "auto"
 */
export function buildConfigFromCmd(services: string[], nodes: string[], known: KnownTypes): Config {
  const cfg: Config = {};
  const gen = new Generated(cfg);
  let chain: ChainConfig | undefined;
  if (nodes.length) {
    chain = { name: "chain-0", hops: [] };
    cfg.chains = [chain];
    nodes.forEach((n, i) => chain!.hops!.push(buildNode(n, i, gen, known.info)));
  }
  const list: ServiceConfig[] = [];
  for (const raw of services) if (raw.trim()) list.push(...buildServices(raw, known));
  list.forEach((svc, i) => {
    svc.name = `service-${i}`;
    if (chain) {
      // a remote listener (rtcp, rudp) binds at the chain's far end: the chain is the listener's
      if (known.info.listeners.info(svc.listener!.type!)?.remote) svc.listener!.chain = chain.name;
      else svc.handler!.chain = chain.name;
    }
    consumeServiceKeys(svc, gen);
  });
  if (list.length) cfg.services = list;
  // keep GOST's key order: services first
  return Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => order(a) - order(b))) as Config;
}

function order(k: string): number {
  const i = (LIST_KEYS as readonly string[]).indexOf(k);
  return i < 0 ? LIST_KEYS.length : i;
}
