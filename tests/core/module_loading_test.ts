/**
 * A process loads what its config uses (docs/architecture.md, "Module loading"): from main.ts, no third-party
 * package and no `node:` module is reached through static imports; they come in through `import()` when a config
 * needs them (a file, the API, TLS, gRPC). Read from `deno info --json`, which marks dynamic imports.
 */
import { deepEqual, ok } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The npm packages and `node:` modules main.ts reaches through static imports, with one importer of each. */
async function staticPackages(): Promise<Map<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects?: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const stack: [string, string][] = info.roots.map((r) => [r, "(root)"]);
  while (stack.length) {
    const [raw, from] = stack.pop()!;
    const spec = info.redirects?.[raw] ?? raw;
    if (seen.has(spec)) continue;
    seen.add(spec);
    if (/^(npm|node):/.test(spec)) {
      found.set(spec, from);
      continue;
    }
    for (const d of modules.get(spec)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) stack.push([d.code.specifier, spec]);
    }
  }
  ok(seen.size > 50, `only ${seen.size} modules: deno info's format has changed?`);
  return found;
}

Deno.test("main.ts reaches no npm package and no node: module through static imports", async () => {
  const found = await staticPackages();
  deepEqual([...found].map(([pkg, from]) => `${pkg} <- ${from.replace(ROOT.href, "")}`), []);
});
