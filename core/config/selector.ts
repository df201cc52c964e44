/**
 * The one reading of a selector block (`{strategy, maxFails, failTimeout}`, config path `...selector`) into the
 * {@link SelectorOptions} a hop or a forwarder's node group runs with. Strategy names and their GOST aliases are
 * the node group's (`parseStrategy`, core/routing/node_group.ts). And the one reading of what a selector reads off
 * what it selects: the `weight` and `backup` metadata of a hop's node, a forwarder's node or a chain in a group.
 * @module
 */
import { type ConfigError, errorMessage } from "../errors.ts";
import { type Metadata, parseDuration } from "../metadata.ts";
import { DEFAULT_SELECTOR, parseStrategy, type SelectorOptions } from "../routing/node_group.ts";
import type { SelectorConfig } from "./types.ts";

/**
 * Parses a selector block; what it leaves out comes from `defaults`.
 * @throws {ConfigError} on a bad strategy or duration (the caller names the config path)
 * @example parseSelector({ strategy: "rr", failTimeout: "5s" }) // { strategy: "round", maxFails: 1, failTimeoutMs: 5000 }
 */
export function parseSelector(
  cfg: SelectorConfig | undefined,
  defaults: SelectorOptions = DEFAULT_SELECTOR,
): SelectorOptions {
  if (!cfg) return defaults;
  return {
    strategy: cfg.strategy ? parseStrategy(cfg.strategy) : defaults.strategy,
    maxFails: cfg.maxFails ?? defaults.maxFails,
    failTimeoutMs: cfg.failTimeout !== undefined
      ? parseDuration(cfg.failTimeout, "failTimeout")
      : defaults.failTimeoutMs,
  };
}

/** What a selector reads off a node or chain: its `random` weight and whether it is a backup. */
export interface Selection {
  /** `weight` metadata: an integer, 0 or more (default 1). */
  readonly weight: number;
  /** `backup` metadata: picked only when every other one is dead (default false). */
  readonly backup: boolean;
}

/**
 * Reads `weight` and `backup` from the metadata of a node or a chain.
 * @param fail makes the error for a bad value (the caller names the config path, `...metadata`)
 * @throws what `fail` returns, on a weight below 0 or not an integer, or a backup that is not a boolean
 * @example parseSelection(new Metadata({ backup: true }), (m) => new ConfigError(m)) // { weight: 1, backup: true }
 */
export function parseSelection(md: Metadata, fail: (message: string) => ConfigError): Selection {
  try {
    return { weight: md.int("weight", 1, 0), backup: md.bool("backup") };
  } catch (err) {
    throw fail(errorMessage(err));
  }
}
