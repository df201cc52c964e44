/**
 * The gost.ts command line: GOST v3's flags (`-L`, `-F`, `-C`, `-O`, `-D`, `-DD`, `-V`, `-api`, `-metrics`).
 * With no arguments and no config file on GOST's search path it runs an embedded default: an `auto` (HTTP+SOCKS)
 * proxy on 127.0.0.1:8080.
 * @module
 */
import { App, knownTypes } from "./core/app.ts";
import { FlagError, parseFlags, splitGroups, USAGE } from "./core/config/flags.ts";
import { resolveConfig } from "./core/config/resolve.ts";
import { formatConfig } from "./core/config/output.ts";
import { ConfigError } from "./core/errors.ts";
import { createLogger, flushLogs } from "./core/log.ts";
import { permissionMessage } from "./core/permissions.ts";
import { guardProcess } from "./core/process_guard.ts";
import { killRunningHooks } from "./core/service/hooks.ts";
import { runGroups, watchParent } from "./core/service/process.ts";
import { versionLine } from "./core/version.ts";
import { createRegistries } from "./core/registries.ts";
import { registerHandlers } from "./handlers/mod.ts";
import { registerListeners } from "./listeners/mod.ts";

/** Exits with `code` once every log line is written (Deno.exit runs no handlers). */
function exit(code: number): never {
  flushLogs();
  Deno.exit(code);
}

function fail(message: string, code: number): never {
  flushLogs();
  console.error(message);
  Deno.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const groups = splitGroups(argv);
  if (groups.length > 1) {
    const empty = groups.findIndex((g) => g.length === 0);
    if (empty >= 0) fail(`gost: process group ${empty} is empty: put flags between each --`, 2);
    for (const g of groups) {
      try {
        parseFlags(g);
      } catch (err) {
        if (err instanceof FlagError) fail(`${err.message}\n${USAGE}`, 2);
        throw err;
      }
    }
    const log = createLogger();
    guardProcess(() => log);
    exit(await runGroups(groups, log));
  }
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) fail(`${err.message}\n${USAGE}`, 2);
    throw err;
  }
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (flags.version) {
    console.log(versionLine());
    return;
  }
  // the types registered one by one, not through mod.ts: the library's entry point loads every module it exports
  const reg = createRegistries();
  registerListeners(reg);
  registerHandlers(reg);
  if (flags.output) {
    const { config } = await resolveConfig(flags, knownTypes(reg));
    await Deno.stdout.write(new TextEncoder().encode(formatConfig(config, flags.output as "yaml" | "json")));
    return;
  }
  const running: { app?: App } = {};
  // from here on no uncaught error of a listener, server or background task ends the process: it is logged
  const bootLogger = createLogger();
  guardProcess(() => running.app?.logger ?? bootLogger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!running.app) {
      // still starting: stop a hanging preUp hook; once the start is done, everything closes below
      createLogger().info(`received ${signal} during startup, stopping`);
      killRunningHooks();
      return;
    }
    running.app.logger.info(`received ${signal}, shutting down`);
    await running.app.close();
    exit(0);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => void stop(sig));
  // SIGHUP is taken from the start: one that comes while the services start (they may already listen) is kept and
  // reloads once the start is done, instead of being lost.
  let hupDuringStart = false;
  Deno.addSignalListener("SIGHUP", () => {
    if (running.app) running.app.reloadQuietly();
    else hupDuringStart = true;
  });
  watchParent(() => void stop("parent exit"));
  const app = running.app = await App.start(flags, reg);
  if (stopping) {
    await app.close();
    exit(0);
  }
  if (hupDuringStart) app.reloadQuietly();
}

if (import.meta.main) {
  main(Deno.args).catch((err) => {
    const hint = permissionMessage(err);
    if (hint) fail(hint, 1);
    if (err instanceof ConfigError) fail(`gost: ${err.message}`, 1);
    fail(`gost: ${err instanceof Error ? err.stack ?? err.message : String(err)}`, 1);
  });
}
