/**
 * Builds chains, hops and nodes from config: each node gets a dialer and a connector from the registries
 * (by default the ones registered as the fallback, as GOST's tcp and http), a hop gets its selector and bypass, a chain hop given only by name
 * refers to a top-level `hops` entry.
 * @module
 */
import { splitHostPort } from "../conn.ts";
import { type ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { Metadata } from "../metadata.ts";
import type { ClientAuth, ClientTlsOptions } from "../contracts.ts";
import type { Registries } from "../registries.ts";
import { fallbackOf } from "../capabilities.ts";
import { type BypassChecker, Chain, type ChainNode, Hop } from "../routing/chain.ts";
import { slotRecorder } from "../routing/chain_metrics.ts";
import type { SelectorOptions } from "../routing/node_group.ts";
import type { ConfigPath } from "./load.ts";
import type { ChainConfig, HopConfig, NodeConfig } from "./types.ts";
import { parseSelector } from "./selector.ts";

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

async function buildNode(cfg: NodeConfig, path: ConfigPath, ctx: ChainBuildContext): Promise<ChainNode> {
  if (!cfg.addr) throw ctx.fail([...path, "addr"], "addr is required");
  const connectorType = cfg.connector?.type || fallbackOf(ctx.reg.connectors) || "";
  const dialerType = cfg.dialer?.type || fallbackOf(ctx.reg.dialers) || "";
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
  const auth = (a?: { username?: string; password?: string }): ClientAuth | undefined =>
    a?.username ? { username: a.username, password: a.password } : undefined;
  let host = "";
  try {
    host = splitHostPort(cfg.addr).host;
  } catch {
    // non host:port addresses (unix paths) keep an empty server name
  }
  const tlsOf = (t?: Record<string, unknown>): ClientTlsOptions | undefined => {
    const merged = { ...(cfg as { tls?: Record<string, unknown> }).tls, ...t };
    return { serverName: host, ...merged } as ClientTlsOptions;
  };
  const connector = await connectorFactory({ logger, auth: auth(cfg.connector?.auth), tls: tlsOf(cfg.connector?.tls) });
  const dialer = await dialerFactory({ logger, auth: auth(cfg.dialer?.auth), tls: tlsOf(cfg.dialer?.tls) });
  try {
    await connector.init(new Metadata({ ...cfg.metadata, ...cfg.connector?.metadata }));
  } catch (err) {
    throw ctx.fail([...path, "connector"], errorMessage(err));
  }
  try {
    await dialer.init(new Metadata({ ...cfg.metadata, ...cfg.dialer?.metadata }));
  } catch (err) {
    throw ctx.fail([...path, "dialer"], errorMessage(err));
  }
  let weight: number, backup: boolean;
  try {
    weight = md.int("weight", 1, 0);
    backup = md.bool("backup");
  } catch (err) {
    throw ctx.fail([...path, "metadata"], errorMessage(err));
  }
  const bypassNames = names(cfg.bypass, cfg.bypasses);
  return {
    name: cfg.name || "node",
    addr: cfg.addr,
    network: cfg.network,
    weight,
    backup,
    metadata: md,
    dialer,
    connector,
    bypass: bypassNames.length ? { contains: (n, a) => ctx.bypass(bypassNames)?.contains(n, a) ?? false } : undefined,
  };
}

/** Builds one hop. @throws {ConfigError} naming the path */
export async function buildHop(cfg: HopConfig, path: ConfigPath, ctx: ChainBuildContext): Promise<Hop> {
  let hopCfg = cfg;
  let hopPath = path;
  if (!cfg.nodes?.length && cfg.name) {
    const named = ctx.hops(cfg.name);
    if (!named) throw ctx.fail([...path, "name"], `hop "${cfg.name}" has no nodes and no top-level hop has that name`);
    hopCfg = named;
    hopPath = ["hops", cfg.name];
  }
  if (!hopCfg.nodes?.length) throw ctx.fail([...hopPath, "nodes"], "a hop needs at least one node");
  const nodes: ChainNode[] = [];
  for (const [i, n] of hopCfg.nodes.entries()) {
    nodes.push(await buildNode({ name: `node-${i}`, ...n }, [...hopPath, "nodes", i], ctx));
  }
  let selector: SelectorOptions;
  try {
    selector = parseSelector(hopCfg.selector);
  } catch (err) {
    throw ctx.fail([...hopPath, "selector"], errorMessage(err));
  }
  const bypassNames = names(hopCfg.bypass, hopCfg.bypasses);
  const bypass = bypassNames.length
    ? { contains: (n: string, a: string) => ctx.bypass(bypassNames)?.contains(n, a) ?? false }
    : undefined;
  return new Hop(hopCfg.name || `hop-${String(path.at(-1))}`, nodes, selector, bypass);
}

/** Builds one chain. @throws {ConfigError} naming the path */
export async function buildChain(cfg: ChainConfig, path: ConfigPath, ctx: ChainBuildContext): Promise<Chain> {
  const hops: Hop[] = [];
  for (const [i, h] of (cfg.hops ?? []).entries()) hops.push(await buildHop(h, [...path, "hops", i], ctx));
  if (!hops.length) throw ctx.fail([...path, "hops"], "a chain needs at least one hop");
  // node steps go to the process's metrics while it has them (docs/architecture.md, "Module state")
  return new Chain(cfg.name, hops, { recorder: slotRecorder(ctx.reg.process) });
}
