/**
 * Refuses GOST metadata keys that nothing in gost.ts reads (README.md, "Refused settings"). After a service's
 * listener and handler (or a chain node's connector and dialer) have read their metadata, every key that is set,
 * that GOST's counterpart of one of those components reads ({@link gostKeysOf}) and that none of them asked for is
 * an error naming the key and its value: GOST would act on it, gost.ts would silently not. Keys GOST does not know
 * either (a typo, a key of another type) are left alone, as GOST leaves them.
 *
 * The records of one service are checked together because the CLI puts an unscoped URL key into the handler's,
 * the listener's and the service's metadata alike: a key counts as read when a component whose record holds it reads
 * it (a key set only for the listener must be read by the listener).
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Metadata } from "../metadata.ts";
import { gostKeysOf } from "./gost_keys.ts";

/** A value that leaves a key off, as {@link Metadata.refuse} treats it. */
function isOff(v: unknown): boolean {
  return v === undefined || v === null || v === "" || v === false || v === "false";
}

/**
 * The first GOST key set in `records` that none of them was asked for, with its value and the index of the record
 * it is set in; or undefined.
 * @param components the component ids whose GOST keys apply (`["service", "handler http", "listener tcp"]`)
 * @param records the metadata the components read, after they read it
 * @param readElsewhere keys that modules outside these components read (lower or mixed case)
 * @example unreadGostKey(["handler http"], [md]) // ["sniffing", true] when md sets sniffing and nobody read it
 */
export function unreadGostKey(
  components: readonly string[],
  records: readonly Metadata[],
  readElsewhere: readonly string[] = [],
): [key: string, value: unknown, record: number] | undefined {
  const gost = new Set<string>();
  for (const c of components) for (const [keys] of gostKeysOf(c)) for (const k of keys) gost.add(k.toLowerCase());
  const elsewhere = new Set(readElsewhere.map((k) => k.toLowerCase()));
  for (const [i, md] of records.entries()) {
    for (const [key, value] of md.entries()) {
      if (!gost.has(key) || elsewhere.has(key) || isOff(value)) continue;
      // read when a component that was given the key asked for it (the CLI gives an unscoped key to several)
      if (records.some((r) => r.asked(key) && r.entries().some(([k]) => k === key))) continue;
      return [key, value, i];
    }
  }
  return undefined;
}

/**
 * The message for a key {@link unreadGostKey} found.
 * @example unreadKeyMessage(["handler http"], "sniffing", true) // "sniffing=true is a GOST key gost.ts does not …"
 */
export function unreadKeyMessage(components: readonly string[], key: string, value: unknown): string {
  return `${key}=${JSON.stringify(value)?.slice(0, 100)} is a GOST key gost.ts does not act on yet ` +
    `(${components.join(", ")}): remove it rather than have it ignored`;
}

/**
 * Throws for the first GOST key set in `records` that nothing read (see {@link unreadGostKey}).
 * @param owner who the keys belong to, for the message (`service s1`)
 * @throws {ConfigError} `<owner>: <key>=<value> is a GOST key gost.ts does not act on yet …`
 */
export function refuseUnreadGostKeys(
  owner: string,
  components: readonly string[],
  records: readonly Metadata[],
  readElsewhere: readonly string[] = [],
): void {
  const hit = unreadGostKey(components, records, readElsewhere);
  if (hit) throw new ConfigError(`${owner}: ${unreadKeyMessage(components, hit[0], hit[1])}`);
}
