/**
 * Builds chains, hops and nodes from config: each node gets a dialer and a connector from the registries
 * (by default the ones registered as the fallback, as GOST's tcp and http), a hop gets its selector and bypass, a chain hop given only by name
 * refers to a top-level `hops` entry.
 * @module
 */
import { refusedSetting } from "./refused.ts";
import { splitHostPort } from "../conn.ts";
import { ConfigError, DialError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Metadata } from "../metadata.ts";
import type { ClientAuth, ClientTlsOptions } from "../contracts.ts";
import type { Registries } from "../registries.ts";
import { fallbackOf } from "../capabilities.ts";
import { firstAuthEntry } from "../routing/auth_file.ts";
import { type BypassChecker, Chain, type ChainNode, Hop } from "../routing/chain.ts";
import { slotRecorder } from "../routing/chain_metrics.ts";
import { ChainGroup } from "../routing/chain_group.ts";
import type { SelectorOptions } from "../routing/node_group.ts";
import { type ConfigPath, formatPath } from "./load.ts";
import { openNodeFile } from "./node_file.ts";
import { type FileSettings, fileSettings, type FileSource } from "../routing/file_source.ts";
import type { ChainConfig, HopConfig, NodeConfig, SelectorConfig } from "./types.ts";
import { parseSelection, parseSelector } from "./selector.ts";
import { lookupHost } from "../routing/resolver.ts";
import { unreadGostKey, unreadKeyMessage } from "./unread_keys.ts";

/** A record's keys in lower case (metadata keys match case-insensitively). */
function lowerKeys(record: Record<string, unknown>): Record<string, true> {
  return Object.fromEntries(Object.keys(record).map((k) => [k.toLowerCase(), true]));
}

/** What building chains needs. */
export interface ChainBuildContext {
  readonly reg: Registries;
  readonly logger: Logger;
  /** Named bypass lookup (late-bound). */
  readonly bypass: (names: string[]) => BypassChecker | undefined;
  /** Top-level hops by name, for chain hops given only by name. */
  readonly hops: (name: string) => HopConfig | undefined;
  /** Makes an error that names the config path and line. */
  readonly fail: (path: ConfigPath, message: string) => ConfigError;
}

function names(one?: string, many?: string[]): string[] {
  return [...(one ? [one] : []), ...(many ?? [])];
}

/** The `hosts` and `resolver` a node's address is mapped with: its own, else its hop's (GOST inherits them). */
interface NameMapping {
  readonly hosts?: string;
  readonly resolver?: string;
}

/** Maps a node's host with the named hosts and resolver, looked up when asked (late binding). */
function nodeResolve(mapping: NameMapping, ctx: ChainBuildContext): ChainNode["resolve"] {
  const { hosts, resolver } = mapping;
  if (!hosts && !resolver) return undefined;
  return (host) =>
    lookupHost(
      hosts ? ctx.reg.hosts.get(hosts) : undefined,
      resolver ? ctx.reg.resolvers.get(resolver) : undefined,
      "ip",
      host,
    );
}

async function buildNode(
  cfg: NodeConfig,
  path: ConfigPath,
  ctx: ChainBuildContext,
  inherited: NameMapping = {},
): Promise<ChainNode> {
  const connectorType = cfg.connector?.type || fallbackOf(ctx.reg.connectors) || "";
  const connectorInfo = ctx.reg.connectors.info(connectorType) ?? {};
  // a direct connector without a dialer gets the direct dialer (GOST would dial the node's addr with tcp, then
  // ignore that conn: README, "Differences from GOST")
  const dialerType = cfg.dialer?.type ||
    (connectorInfo.addressless ? connectorInfo.defaultDialer : undefined) || fallbackOf(ctx.reg.dialers) || "";
  const addressless = Boolean(ctx.reg.dialers.info(dialerType)?.addressless);
  if (!cfg.addr && !addressless) throw ctx.fail([...path, "addr"], "addr is required");
  if (addressless && !connectorInfo.addressless) {
    throw ctx.fail(
      [...path, "connector", "type"],
      `dialer ${dialerType} opens no conn to the node, so connector "${connectorType}" has nothing to speak on: ` +
        `a ${dialerType} node takes a connector that dials the target itself (${
          ctx.reg.connectors.names().filter((n) => ctx.reg.connectors.info(n)?.addressless).join(", ")
        })`,
    );
  }
  const connectorFactory = ctx.reg.connectors.get(connectorType);
  if (!connectorFactory) {
    throw ctx.fail(
      [...path, "connector", "type"],
      `unknown connector type "${connectorType}": supported are ${ctx.reg.connectors.names().join(", ")}`,
    );
  }
  const dialerFactory = ctx.reg.dialers.get(dialerType);
  if (!dialerFactory) {
    throw ctx.fail(
      [...path, "dialer", "type"],
      `unknown dialer type "${dialerType}": supported are ${ctx.reg.dialers.names().join(", ")}`,
    );
  }
  const md = new Metadata(cfg.metadata ?? {});
  const logger = ctx.logger.child({ kind: "node", node: cfg.name, connector: connectorType, dialer: dialerType });
  // `auth.file`: the first user of the file, as GOST reads it (README.md, "Authentication")
  const auth = (a: { username?: string; password?: string; file?: string } | undefined, part: string) => {
    if (a?.file) {
      try {
        return firstAuthEntry(a.file) as ClientAuth;
      } catch (err) {
        throw ctx.fail([...path, part, "auth", "file"], `cannot read auth file: ${errorMessage(err)}`);
      }
    }
    return a?.username ? { username: a.username, password: a.password } as ClientAuth : undefined;
  };
  const connectorAuth = auth(cfg.connector?.auth, "connector");
  const dialerAuth = auth(cfg.dialer?.auth, "dialer");
  let host = "";
  try {
    host = splitHostPort(cfg.addr ?? "").host;
  } catch {
    // non host:port addresses (unix paths) keep an empty server name
  }
  const tlsOf = (t?: Record<string, unknown>): ClientTlsOptions | undefined => {
    const merged = { ...(cfg as { tls?: Record<string, unknown> }).tls, ...t };
    return { serverName: host, ...merged } as ClientTlsOptions;
  };
  const connector = await connectorFactory({ logger, auth: connectorAuth, tls: tlsOf(cfg.connector?.tls) });
  const dialer = await dialerFactory({ logger, auth: dialerAuth, tls: tlsOf(cfg.dialer?.tls) });
  const connectorMd = new Metadata({ ...cfg.metadata, ...cfg.connector?.metadata });
  const dialerMd = new Metadata({ ...cfg.metadata, ...cfg.dialer?.metadata });
  try {
    await connector.init(connectorMd);
  } catch (err) {
    throw ctx.fail([...path, "connector"], errorMessage(err));
  }
  try {
    await dialer.init(dialerMd);
  } catch (err) {
    throw ctx.fail([...path, "dialer"], errorMessage(err));
  }
  const { weight, backup } = parseSelection(md, (m) => ctx.fail([...path, "metadata"], m));
  // GOST's node, connector and dialer keys that none of them reads are refused (core/config/unread_keys.ts)
  const components = ["node", `connector ${connectorType}`, `dialer ${dialerType}`];
  const unread = unreadGostKey(components, [md, connectorMd, dialerMd]);
  if (unread) {
    const [key, value, at] = unread;
    const part = cfg.metadata && key in lowerKeys(cfg.metadata) ? [] : [at === 2 ? "dialer" : "connector"];
    throw ctx.fail([...path, ...part, "metadata", key], unreadKeyMessage(components, key, value));
  }
  const bypassNames = names(cfg.bypass, cfg.bypasses);
  return {
    name: cfg.name || "node",
    addr: cfg.addr ?? "",
    network: cfg.network,
    weight,
    backup,
    metadata: md,
    dialer,
    connector,
    ...(addressless ? { addressless } : {}),
    resolve: nodeResolve({ hosts: cfg.hosts || inherited.hosts, resolver: cfg.resolver || inherited.resolver }, ctx),
    bypass: bypassNames.length ? { contains: (n, a) => ctx.bypass(bypassNames)?.contains(n, a) ?? false } : undefined,
  };
}

/** Builds one hop. @throws {ConfigError} naming the path */
export async function buildHop(cfg: HopConfig, path: ConfigPath, ctx: ChainBuildContext): Promise<Hop> {
  let hopCfg = cfg;
  let hopPath = path;
  if (!cfg.nodes?.length && !cfg.file && cfg.name) {
    const named = ctx.hops(cfg.name);
    if (!named) throw ctx.fail([...path, "name"], `hop "${cfg.name}" has no nodes and no top-level hop has that name`);
    hopCfg = named;
    hopPath = ["hops", cfg.name];
  }
  const refused = refusedSetting("hops", hopCfg as Record<string, unknown>);
  if (refused) throw ctx.fail([...hopPath, ...refused.path], refused.message);
  // gost.ts reads none of GOST's hop metadata keys (interface, so_mark, …): each is refused by name
  const hopUnread = unreadGostKey(["hop"], [new Metadata(hopCfg.metadata ?? {})]);
  if (hopUnread) {
    throw ctx.fail([...hopPath, "metadata", hopUnread[0]], unreadKeyMessage(["hop"], hopUnread[0], hopUnread[1]));
  }
  const nodeFile = fileSettings((key, msg) => ctx.fail([...hopPath, ...key], msg), hopCfg);
  if (!hopCfg.nodes?.length && !nodeFile.path) {
    throw ctx.fail([...hopPath, "nodes"], "a hop needs at least one node");
  }
  const nodes: ChainNode[] = [];
  for (const [i, n] of (hopCfg.nodes ?? []).entries()) {
    nodes.push(
      await buildNode({ name: `node-${i}`, ...n }, [...hopPath, "nodes", i], ctx, {
        hosts: hopCfg.hosts,
        resolver: hopCfg.resolver,
      }),
    );
  }
  const index = path.at(-1); // a hop of a chain: its index; a top-level hop: its name
  const direct = nodes.findIndex((n) => n.addressless);
  if (typeof index === "number" && index > 0 && direct >= 0) {
    throw ctx.fail(
      [...hopPath, "nodes", direct],
      `node ${nodes[direct].name} is a direct node (it dials from this host): it can only be in a chain's first hop`,
    );
  }
  let selector: SelectorOptions;
  try {
    selector = parseSelector(hopCfg.selector);
  } catch (err) {
    throw ctx.fail([...hopPath, "selector"], errorMessage(err));
  }
  const inline = [...nodes];
  const source = nodeFile.path ? await hopNodeFile(hopCfg, hopPath, nodeFile, ctx) : undefined;
  nodes.push(...source?.value ?? []);
  if (selector.strategy === "parallel") {
    if (typeof index === "number" && index > 0) {
      source?.close();
      throw ctx.fail([...hopPath, "selector", "strategy"], "parallel races the nodes of a chain's first hop only");
    }
    const muxed = nodes.find((n) => n.dialer.multiplex);
    if (muxed && nodes.length > 1) {
      source?.close();
      throw ctx.fail(
        [...hopPath, "selector", "strategy"],
        `parallel cannot race node ${muxed.name}: its dialer multiplexes (GOST turns multiplexing off; gost.ts refuses)`,
      );
    }
  }
  const bypassNames = names(hopCfg.bypass, hopCfg.bypasses);
  const bypass = bypassNames.length
    ? { contains: (n: string, a: string) => ctx.bypass(bypassNames)?.contains(n, a) ?? false }
    : undefined;
  const hop = new Hop(hopCfg.name || `hop-${String(path.at(-1))}`, nodes, selector, bypass, source);
  if (source) source.onChange = (fromFile) => hop.replaceNodes([...inline, ...fromFile]);
  return hop;
}

/** Opens a hop's node file (core/config/node_file.ts); its nodes inherit the hop's hosts and resolver. */
async function hopNodeFile(
  hopCfg: HopConfig,
  hopPath: ConfigPath,
  file: FileSettings,
  ctx: ChainBuildContext,
): Promise<FileSource<ChainNode[]>> {
  const inherited = { hosts: hopCfg.hosts, resolver: hopCfg.resolver };
  // a file node's errors name its keys, not the config's path: they are warned about with the file's line
  const fileCtx = { ...ctx, fail: (p: ConfigPath, m: string) => new ConfigError(`${formatPath(p)}: ${m}`) };
  try {
    return await openNodeFile({
      hop: hopCfg.name || String(hopPath.at(-1)),
      path: file.path!,
      reloadMs: file.reloadMs,
      logger: ctx.logger,
      build: (cfg) => buildNode(cfg, [], fileCtx, inherited),
    });
  } catch (err) {
    throw ctx.fail([...hopPath, "file", "path"], `cannot read the node file: ${errorMessage(err)}`);
  }
}

/** Builds one chain. @throws {ConfigError} naming the path */
export async function buildChain(cfg: ChainConfig, path: ConfigPath, ctx: ChainBuildContext): Promise<Chain> {
  const hops: Hop[] = [];
  for (const [i, h] of (cfg.hops ?? []).entries()) hops.push(await buildHop(h, [...path, "hops", i], ctx));
  if (!hops.length) throw ctx.fail([...path, "hops"], "a chain needs at least one hop");
  const { weight, backup } = parseSelection(
    new Metadata(cfg.metadata ?? {}),
    (m) => ctx.fail([...path, "metadata"], m),
  );
  // node steps go to the process's metrics while it has them (docs/architecture.md, "Module state")
  return new Chain(cfg.name, hops, { recorder: slotRecorder(ctx.reg.process), weight, backup, logger: ctx.logger });
}

/**
 * What a handler or listener routes through: its `chain` alone (looked up by name at every dial), or a
 * {@link ChainGroup} of `chain` (first) and the `chainGroup`'s chains (GOST adds them in that order). A group entry
 * is a chain name or `{chain}`; GOST's newer `matcher` and `probe` on entries are refused until gost.ts has them.
 * @param path the config path of the handler or listener
 * @returns undefined when neither is set
 * @throws {ConfigError} naming the path of a bad entry or selector
 */
export function chainsOf(
  chain: string | undefined,
  group: Record<string, unknown> | undefined,
  path: ConfigPath,
  ctx: Pick<ChainBuildContext, "reg" | "fail">,
): (() => Chain | ChainGroup | undefined) | undefined {
  const missing = (name: string): never => {
    throw new DialError(name, `chain "${name}" is not defined`);
  };
  const entries = group?.chains;
  if (group && entries !== undefined && !Array.isArray(entries)) {
    throw ctx.fail([...path, "chainGroup", "chains"], "must be a list of chain names or {chain: name}");
  }
  const names = chain ? [chain] : [];
  for (const [i, e] of ((entries ?? []) as unknown[]).entries()) {
    const at = [...path, "chainGroup", "chains", i];
    if (typeof e === "string" && e) names.push(e);
    else if (e && typeof e === "object" && typeof (e as { chain?: unknown }).chain === "string") {
      const { chain: name, ...rest } = e as Record<string, unknown>;
      const extra = Object.keys(rest).filter((k) => rest[k] !== undefined && rest[k] !== null);
      if (extra.length) {
        throw ctx.fail(
          [...at, extra[0]],
          `chain group entries with ${extra.join(", ")} are not supported by gost.ts yet`,
        );
      }
      names.push(name as string);
    } else throw ctx.fail(at, `expected a chain name or {chain: name}, got ${JSON.stringify(e)}`);
  }
  const unknownKeys = Object.keys(group ?? {}).filter((k) => k !== "chains" && k !== "selector");
  if (unknownKeys.length) {
    throw ctx.fail([...path, "chainGroup", unknownKeys[0]], `unknown chainGroup key: supported are chains, selector`);
  }
  if (!names.length) return undefined;
  if (!group || names.length === 1) return () => ctx.reg.chains.get(names[0]) ?? missing(names[0]);
  let selector: SelectorOptions;
  try {
    selector = parseSelector(group.selector as SelectorConfig | undefined);
  } catch (err) {
    throw ctx.fail([...path, "chainGroup", "selector"], errorMessage(err));
  }
  if (selector.strategy === "parallel") {
    throw ctx.fail([...path, "chainGroup", "selector", "strategy"], "parallel races the nodes of a hop, not chains");
  }
  const g = new ChainGroup(names, (n) => ctx.reg.chains.get(n), selector);
  return () => g;
}
