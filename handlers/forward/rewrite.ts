/**
 * GOST's HTTP rewrites of a forwarder node (x/internal/util/forwarder): the URL path (`rewriteURL`: the first rule
 * whose pattern matches the path and whose replacement is not empty wins; a `?` in the result starts the query),
 * and bodies (`rewriteResponseBody`, `rewriteRequestBody`: every rule whose type takes the body's content type is
 * applied in turn, each replacing every match). Replacements are expanded as Go's `Regexp.Expand`: `$1`, `${1}`,
 * `$name`, `${name}`, `$$`; a name that is no group expands to nothing.
 * @module
 */
import type { BodyRewrite, RegexRewrite } from "../../core/contracts.ts";

/** Expands a Go replacement template for one match. */
export function expandGo(template: string, match: RegExpExecArray | string[], groups?: Record<string, string>): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== "$" || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === "{") {
      const close = template.indexOf("}", i + 2);
      if (close < 0) {
        out += c;
        continue;
      }
      name = template.slice(i + 2, close);
      end = close;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + m[0].length;
    }
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      out += template.slice(i, end + 1);
    } else if (/^\d+$/.test(name)) {
      out += match[Number(name)] ?? "";
    } else {
      out += groups?.[name] ?? "";
    }
    i = end;
  }
  return out;
}

/** Replaces every match of a global pattern in `s` with the Go template. */
function replaceAll(s: string, r: RegexRewrite): string {
  const re = r.pattern.global ? r.pattern : new RegExp(r.pattern.source, r.pattern.flags + "g");
  re.lastIndex = 0;
  return s.replace(re, (...args) => {
    const hasGroups = typeof args[args.length - 1] === "object";
    const groups = hasGroups ? args[args.length - 1] as Record<string, string> : undefined;
    const match = args.slice(0, hasGroups ? -3 : -2) as string[];
    return expandGo(r.replacement, match, groups);
  });
}

/**
 * The rewritten path and query, or undefined when no rule applies (GOST: `ReplaceAllString` on the path, the first
 * rule that matches and gives a non-empty result).
 * @example rewritePath([{ pattern: /\/api\/(.*)/, replacement: "/$1" }], "/api/x") // { path: "/x" }
 */
export function rewritePath(
  rules: readonly RegexRewrite[],
  path: string,
): { path: string; query?: string } | undefined {
  for (const r of rules) {
    r.pattern.lastIndex = 0;
    if (!r.pattern.test(path)) continue;
    const s = replaceAll(path, r);
    if (!s) continue;
    const q = s.indexOf("?");
    return q < 0 ? { path: s } : { path: s.slice(0, q), query: s.slice(q + 1) };
  }
  return undefined;
}

/** The content type of a `Content-Type` value, without parameters, lower case. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** The rules whose type takes `mediaType` (`*` takes every type; an absent Content-Type only `*`). */
export function rulesFor(rules: readonly BodyRewrite[], type: string): BodyRewrite[] {
  return rules.filter((r) => r.types.includes("*") || (type !== "" && r.types.includes(type)));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Applies the rules to a body, as UTF-8 text.
 * @returns the rewritten body, or undefined when it is not UTF-8 (it passes unchanged)
 */
export function rewriteBody(rules: readonly BodyRewrite[], body: Uint8Array): Uint8Array | undefined {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return undefined;
  }
  for (const r of rules) text = replaceAll(text, r);
  return encoder.encode(text);
}
