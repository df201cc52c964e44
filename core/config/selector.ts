/**
 * The one reading of a selector block (`{strategy, maxFails, failTimeout}`, config path `...selector`) into the
 * {@link SelectorOptions} a hop or a forwarder's node group runs with. Strategy names and their GOST aliases are
 * the node group's (`parseStrategy`, core/routing/node_group.ts).
 * @module
 */
import { parseDuration } from "../metadata.ts";
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
