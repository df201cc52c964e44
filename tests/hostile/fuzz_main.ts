/**
 * `deno task fuzz --seconds=N [--inputs=2000] [--seed=S]`: the fuzz run of tests/hostile/fuzz_test.ts, repeated
 * with new seeds until N seconds have passed (the round under way finishes), then the same checks. Prints each
 * round's findings and exits 1 when any check failed, naming the seed to replay it with; with several rounds, also
 * when memory keeps growing after the first.
 * @module
 */
import { fdsSettle, footprint, fuzzRound, startFuzzBed } from "./fuzz.ts";

function flag(name: string): string | undefined {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

const seconds = Number(flag("seconds"));
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error("usage: deno task fuzz --seconds=N [--inputs=2000] [--seed=S]  (N: how long to run, bounded)");
  Deno.exit(2);
}
const inputs = Number(flag("inputs") ?? 2000);
/** RSS the rounds after the first may add in all (a TLS handshake leak added 60–100 MB a round). */
const GROWTH_LIMIT_KIB = 64 * 1024;
let seed = Number(flag("seed") ?? Date.now() % 1_000_000_000);
const end = Date.now() + seconds * 1000;

await using bed = await startFuzzBed();
const base = footprint(bed);
let failures = 0;
let firstRound: number | undefined;
let lastRound = 0;
for (let round = 1; Date.now() < end; round++, seed += 1009) {
  const results = await fuzzRound(bed, inputs, seed);
  const bad = results.filter((r) => r.refused > 0 || !r.served);
  const now = footprint(bed);
  firstRound ??= now.rssKiB;
  lastRound = now.rssKiB;
  console.log(
    `round ${round} seed ${seed}: ${results.length * inputs} inputs, fds ${now.fds}, RSS ${now.rssKiB} KiB` +
      (bad.length
        ? `, FAILED: ${bad.map((r) => `${r.target}/${r.mode} refused=${r.refused} served=${r.served}`)}`
        : ""),
  );
  failures += bad.length;
}
const fds = await fdsSettle(bed, base, 30);
const after = footprint(bed);
console.log(`fds ${base.fds} -> ${fds}, RSS ${base.rssKiB} -> ${after.rssKiB} KiB`);
if (fds > base.fds + 30) failures++;
// The first round grows the heap and the allocator's pools once; later rounds must reuse them (a leak adds up).
const growth = lastRound - (firstRound ?? lastRound);
if (growth > GROWTH_LIMIT_KIB) {
  console.log(`FAILED: RSS grew ${growth} KiB after the first round (limit ${GROWTH_LIMIT_KIB})`);
  failures++;
}
Deno.exit(failures ? 1 : 0);
