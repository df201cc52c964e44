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

/**
 * What main.ts reaches through static imports: the npm packages and `node:` modules (with one importer of each) and
 * every module of the repository.
 */
async function staticGraph(): Promise<{ packages: Map<string, string>; files: string[] }> {
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
  const files = [...seen].filter((s) => s.startsWith(ROOT.href)).map((s) => s.slice(ROOT.href.length));
  return { packages: found, files };
}

Deno.test("main.ts reaches no npm package and no node: module through static imports", async () => {
  const { packages: found } = await staticGraph();
  deepEqual([...found].map(([pkg, from]) => `${pkg} <- ${from.replace(ROOT.href, "")}`), []);
});

Deno.test("main.ts statically loads only the registrations of the protocols and transports, not their code", async () => {
  const { files } = await staticGraph();
  const plugins = files.filter((f) => /^(handlers|listeners)\//.test(f));
  ok(plugins.includes("handlers/socks5/mod.ts") && plugins.includes("listeners/tcp/mod.ts"), plugins.join(" "));
  deepEqual(plugins.filter((f) => !/^(handlers|listeners)\/(mod\.ts|[a-z0-9]+\/mod\.ts)$/.test(f)), []);
});
