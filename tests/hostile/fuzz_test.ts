/**
 * Fuzzing every handler over loopback (bounded): 2,000 generated inputs per handler in each of three ways of
 * ending (clean close, reset right after sending, reset after the first reply). After each round a valid client is
 * served; at the end the process is alive and its fds and memory come back. `deno task fuzz --seconds=N` runs the
 * same for longer.
 * @module
 */
import { deepEqual, ok } from "node:assert/strict";
import { has } from "../helpers/run.ts";
import { fdsSettle, footprint, fuzzRound, startFuzzBed } from "./fuzz.ts";

const INPUTS = Number(Deno.env.get("GOST_FUZZ_INPUTS") ?? 2000);
const SEED = Number(Deno.env.get("GOST_FUZZ_SEED") ?? 20261203);

Deno.test({
  name: "every handler survives 2,000 fuzz inputs in three modes: valid clients served, fds and memory come back",
  ignore: !has("python3") || !has("curl"),
  async fn() {
    await using bed = await startFuzzBed();
    const base = footprint(bed);
    const results = await fuzzRound(bed, INPUTS, SEED);
    const fds = await fdsSettle(bed, base, 30);
    const after = footprint(bed);
    console.log(`seed ${SEED}, ${INPUTS} inputs per handler and mode`);
    console.log(`fds ${base.fds} -> ${fds}, RSS ${base.rssKiB} -> ${after.rssKiB} KiB`);
    const refused = results.filter((r) => r.refused > 0);
    deepEqual(refused.map((r) => `${r.target}/${r.mode}: ${r.refused} connects refused`), [], "connects refused");
    deepEqual(results.filter((r) => !r.served).map((r) => `${r.target}/${r.mode}`), [], "valid clients not served");
    ok(fds <= base.fds + 30, `fds did not come back: ${base.fds} -> ${fds}`);
    ok(after.rssKiB < base.rssKiB + 150 * 1024, `RSS grew by ${after.rssKiB - base.rssKiB} KiB`);
    // A client's garbage is an info line (rate-limited), never an error: the error lines left are the proxy's own
    // failures to reach the targets the fuzz asked for (closed ports, addresses it cannot bind).
    const lines = bed.gost.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const errors = lines.filter((l) => l.level === "error" || l.level === "warn");
    const notDial = errors.filter((l) => !/^(dial |(Relay )?(UDP )?BIND on )/.test(l.msg)).map((l) =>
      `${l.handler}: ${l.msg}`
    );
    const clientErrors = lines.filter((l) => l.clientError).length;
    console.log(`${lines.length} log lines, ${errors.length} error lines, ${clientErrors} client error lines`);
    ok(
      notDial.length === 0,
      `error lines that are not the proxy's own dial failures:\n${notDial.slice(0, 10).join("\n")}`,
    );
  },
});
