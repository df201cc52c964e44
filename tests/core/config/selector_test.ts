/**
 * Unit tests of core/config/selector.ts: a selector block (`{strategy, maxFails, failTimeout}`) read into the
 * SelectorOptions a hop or forwarder runs with — GOST's strategy names and aliases (case-insensitive), Go durations
 * and bare seconds for `failTimeout`, the defaults for what is left out, and a ConfigError naming the value for a
 * strategy or duration that does not parse.
 * @module
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { parseSelector } from "../../../core/config/selector.ts";
import type { SelectorConfig } from "../../../core/config/types.ts";
import { ConfigError } from "../../../core/errors.ts";
import { DEFAULT_SELECTOR, type SelectorOptions } from "../../../core/routing/node_group.ts";

/** A selector block as YAML could hand it over (the schema lets these types through to parseSelector). */
function cfg(block: Record<string, unknown>): SelectorConfig {
  return block as SelectorConfig;
}

/** `fn` throws a ConfigError whose message contains every one of `parts`. */
function throwsConfig(fn: () => unknown, ...parts: string[]): void {
  throws(fn, (err: unknown) => {
    ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
    equal(err.code, "config");
    for (const p of parts) ok(err.message.includes(p), `"${err.message}" does not name ${p}`);
    return true;
  });
}

Deno.test("parseSelector: GOST's defaults are round, 1 fail, 10 s", () => {
  deepEqual(DEFAULT_SELECTOR, { strategy: "round", maxFails: 1, failTimeoutMs: 10_000 });
});

Deno.test("parseSelector: no block gives the defaults as they are", () => {
  equal(parseSelector(undefined), DEFAULT_SELECTOR);
  const own: SelectorOptions = { strategy: "fifo", maxFails: 3, failTimeoutMs: 30_000 };
  equal(parseSelector(undefined, own), own);
});

Deno.test("parseSelector: an empty block takes every field from the defaults", () => {
  deepEqual(parseSelector({}), { strategy: "round", maxFails: 1, failTimeoutMs: 10_000 });
  deepEqual(parseSelector({}, { strategy: "hash", maxFails: 5, failTimeoutMs: 1 }), {
    strategy: "hash",
    maxFails: 5,
    failTimeoutMs: 1,
  });
});

Deno.test("parseSelector: the documented example", () => {
  deepEqual(parseSelector({ strategy: "rr", failTimeout: "5s" }), {
    strategy: "round",
    maxFails: 1,
    failTimeoutMs: 5000,
  });
});

Deno.test("parseSelector: strategy names and GOST aliases", () => {
  const cases: [string, SelectorOptions["strategy"]][] = [
    ["round", "round"],
    ["rr", "round"],
    ["random", "random"],
    ["rand", "random"],
    ["fifo", "fifo"],
    ["ha", "fifo"],
    ["hash", "hash"],
  ];
  for (const [name, want] of cases) equal(parseSelector({ strategy: name }).strategy, want, name);
});

Deno.test("parseSelector: strategy names are case-insensitive", () => {
  const cases: [string, SelectorOptions["strategy"]][] = [
    ["ROUND", "round"],
    ["RR", "round"],
    ["Random", "random"],
    ["RAND", "random"],
    ["FiFo", "fifo"],
    ["HA", "fifo"],
    ["Hash", "hash"],
  ];
  for (const [name, want] of cases) equal(parseSelector({ strategy: name }).strategy, want, name);
});

Deno.test("parseSelector: an empty strategy keeps the default strategy", () => {
  equal(parseSelector({ strategy: "" }).strategy, "round");
  equal(parseSelector({ strategy: "" }, { strategy: "fifo", maxFails: 1, failTimeoutMs: 1 }).strategy, "fifo");
});

Deno.test("parseSelector: a given strategy overrides the default strategy", () => {
  equal(parseSelector({ strategy: "rr" }, { strategy: "hash", maxFails: 1, failTimeoutMs: 1 }).strategy, "round");
});

Deno.test("parseSelector: an unknown strategy is a ConfigError naming it and what is supported", () => {
  for (const name of ["roundrobin", "least", "weighted", "r r", " rr", "rr ", "random()", "0", "fifo,hash"]) {
    throwsConfig(
      () => parseSelector({ strategy: name }),
      `"${name}"`,
      "strategy",
      "round, rr, random, rand, fifo, ha, hash",
    );
  }
});

Deno.test("parseSelector: Object.prototype names are no strategy", () => {
  for (const name of ["__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"]) {
    throwsConfig(() => parseSelector({ strategy: name }), `"${name}"`);
  }
});

// Fixed bug (core/routing/node_group.ts, parseStrategy, which parseSelector calls): the lookup `STRATEGIES[name.toLowerCase()]`
// reads inherited properties of the plain object literal, so "constructor" (any case) yields `Object` (a function)
// instead of throwing: the selector silently runs as round robin with a non-string `strategy`. Fix: look the key up
// as an own property only, e.g.
//   const key = name.toLowerCase(); const s = Object.hasOwn(STRATEGIES, key) ? STRATEGIES[key] : undefined;
// (or build STRATEGIES with a null prototype / as a Map).
Deno.test({
  name: "parseSelector: an inherited property name (constructor) is no strategy",
  fn: () => {
    for (const name of ["constructor", "Constructor", "CONSTRUCTOR"]) {
      throwsConfig(() => parseSelector({ strategy: name }), `"${name}"`);
    }
  },
});

Deno.test("parseSelector: maxFails is taken as given, 0 included (the node group then never marks a node dead)", () => {
  equal(parseSelector({ maxFails: 3 }).maxFails, 3);
  equal(parseSelector({ maxFails: 0 }).maxFails, 0);
  equal(parseSelector({ maxFails: 1 }, { strategy: "round", maxFails: 7, failTimeoutMs: 1 }).maxFails, 1);
  equal(parseSelector({ strategy: "hash" }, { strategy: "round", maxFails: 7, failTimeoutMs: 1 }).maxFails, 7);
});

Deno.test("parseSelector: failTimeout as Go durations", () => {
  const cases: [string, number][] = [
    ["5s", 5000],
    ["500ms", 500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3.5s", 3_723_500],
    ["1.5s", 1500],
    ["0s", 0],
    ["1000us", 1],
    ["1000µs", 1],
    ["2000000ns", 2],
    [" 5s ", 5000],
  ];
  for (const [text, ms] of cases) equal(parseSelector({ failTimeout: text }).failTimeoutMs, ms, text);
});

Deno.test("parseSelector: failTimeout as bare seconds, a number or a numeric string", () => {
  equal(parseSelector({ failTimeout: 30 }).failTimeoutMs, 30_000);
  equal(parseSelector({ failTimeout: 0.25 }).failTimeoutMs, 250);
  equal(parseSelector({ failTimeout: 0 }).failTimeoutMs, 0, "0 is a value, not 'left out'");
  equal(parseSelector({ failTimeout: "30" }).failTimeoutMs, 30_000);
  equal(parseSelector({ failTimeout: "1.5" }).failTimeoutMs, 1500);
});

Deno.test("parseSelector: a left-out failTimeout keeps the default", () => {
  equal(parseSelector({ strategy: "rr" }).failTimeoutMs, 10_000);
  equal(
    parseSelector({ maxFails: 2 }, { strategy: "round", maxFails: 1, failTimeoutMs: 30_000 }).failTimeoutMs,
    30_000,
  );
});

Deno.test("parseSelector: a failTimeout that does not parse is a ConfigError naming the key and the value", () => {
  for (
    const bad of [
      "",
      "   ",
      "5 s",
      "5S",
      "5sec",
      "five",
      "5s5",
      "s",
      "-",
      "--5s",
      "1.5.5s",
      "5d",
      "1e3",
      "0x10",
      "5s;rm",
    ]
  ) {
    throwsConfig(() => parseSelector({ failTimeout: bad }), '"failTimeout"', `"${bad.trim()}"`);
  }
});

Deno.test("parseSelector: a failTimeout of a wrong type is a ConfigError naming the key", () => {
  for (const bad of [null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY]) {
    throwsConfig(() => parseSelector(cfg({ failTimeout: bad })), '"failTimeout"');
  }
});

Deno.test("parseSelector: the error message is the one the config builder wraps with the path", () => {
  throws(() => parseSelector({ failTimeout: "10x" }), (err: unknown) => {
    ok(err instanceof ConfigError);
    equal(err.message, 'Cannot parse "failTimeout" as a duration: "10x"');
    return true;
  });
  throws(() => parseSelector({ strategy: "lru" }), (err: unknown) => {
    ok(err instanceof ConfigError);
    match(err.message, /^Unknown selector strategy "lru": supported are /);
    return true;
  });
});

Deno.test("parseSelector: does not change the defaults it is given", () => {
  const own: SelectorOptions = { strategy: "fifo", maxFails: 2, failTimeoutMs: 2000 };
  const out = parseSelector({ strategy: "hash", maxFails: 9, failTimeout: "1s" }, own);
  deepEqual(out, { strategy: "hash", maxFails: 9, failTimeoutMs: 1000 });
  deepEqual(own, { strategy: "fifo", maxFails: 2, failTimeoutMs: 2000 });
  deepEqual(DEFAULT_SELECTOR, { strategy: "round", maxFails: 1, failTimeoutMs: 10_000 });
});
