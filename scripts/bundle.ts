/**
 * `deno task bundle`: gost.ts as plain JavaScript that `deno run --cached-only` starts offline, with no npm cache.
 *
 *     deno run -A scripts/bundle.ts -o dist/gost.js
 *
 * writes the entry `dist/gost.js` and the modules it loads on demand in `dist/chunks/` (deploy both: the entry finds
 * its chunks beside it). The bundle is split at every dynamic import, so a process compiles only what its config uses
 * (the protocols it names; YAML, the config schema, the Web API and gRPC only when used): one file holding everything
 * takes about twice as long to start (docs/benchmarks.md).
 *
 * One fix-up after `deno bundle`: its module-loader shim gets `require()` for the CommonJS parts of npm packages from
 * `node:module`, imported by every chunk at start-up even when no CommonJS code runs (about 30 ms). Those parts only
 * `require()` Node's built-in modules, so the shim asks `process.getBuiltinModule()` instead, when they run.
 * @module
 */

const CREATE_REQUIRE = 'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
  "var __require = __deno_internal_createRequire(import.meta.url);";
const BUILTIN_REQUIRE = "var __require = (id) => globalThis.process.getBuiltinModule(id);";

/** The module-loader shim with `require()` of built-ins only; throws when `deno bundle` wrote something else. */
export function withBuiltinRequire(chunk: string, name: string): string {
  if (!chunk.includes("__deno_internal_createRequire")) return chunk;
  if (!chunk.includes(CREATE_REQUIRE)) {
    throw new Error(`${name}: deno bundle wrote an unexpected require() shim; update scripts/bundle.ts`);
  }
  return chunk.replace(CREATE_REQUIRE, BUILTIN_REQUIRE);
}

/** The CommonJS `require()` calls left in a chunk that are not of a `node:` built-in (each would fail at run time). */
export function foreignRequires(chunk: string): string[] {
  return [...chunk.matchAll(/__require\("([^"]*)"\)/g)].map((m) => m[1]).filter((id) => !id.startsWith("node:"));
}

/** The entry's imports rewritten to `chunks/`: every relative specifier in an import or export clause. */
export function intoChunksDir(entry: string, chunkNames: ReadonlySet<string>): string {
  return entry.replace(/(\bfrom\s*|\bimport\s*\(?\s*)"\.\/([^"]+)"/g, (_all, head: string, file: string) => {
    if (!chunkNames.has(file)) throw new Error(`the entry imports ./${file}, which deno bundle did not write`);
    return `${head}"./chunks/${file}"`;
  });
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
  }
}

/**
 * Bundles `main.ts` into `out` and `<dir of out>/chunks/`. The output is assembled beside the target and moved into
 * place, so a failed build leaves the previous bundle as it was.
 */
export async function bundle(out: string): Promise<void> {
  if (!out.endsWith(".js")) throw new Error(`-o ${out}: the bundle's entry must end in .js`);
  const root = new URL("../", import.meta.url).pathname;
  const dir = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true });
  const work = await Deno.makeTempDir({ dir, prefix: ".bundle-" });
  try {
    const raw = `${work}/raw`;
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--config",
      `${root}deno.json`,
      "--outdir",
      raw,
      `${root}main.ts`,
    ]);
    const files = [...Deno.readDirSync(raw)].filter((e) => e.isFile && e.name.endsWith(".js")).map((e) => e.name);
    if (!files.includes("main.js")) throw new Error(`deno bundle wrote no main.js in ${raw}`);
    const chunkNames = new Set(files.filter((f) => f !== "main.js"));
    await Deno.mkdir(`${work}/chunks`);
    for (const name of files) {
      const text = withBuiltinRequire(await Deno.readTextFile(`${raw}/${name}`), name);
      const foreign = foreignRequires(text);
      if (foreign.length) throw new Error(`${name} requires ${foreign.join(", ")}: only node: built-ins can be loaded`);
      if (name === "main.js") await Deno.writeTextFile(`${work}/entry.js`, intoChunksDir(text, chunkNames));
      else await Deno.writeTextFile(`${work}/chunks/${name}`, text);
    }
    // chunks first, then the entry that refers to them; chunk names are content hashes, so a chunk already there is
    // the same file. Chunks no longer used go last.
    await Deno.mkdir(`${dir}/chunks`, { recursive: true });
    for (const name of chunkNames) await Deno.rename(`${work}/chunks/${name}`, `${dir}/chunks/${name}`);
    await Deno.rename(`${work}/entry.js`, out);
    for (const e of Deno.readDirSync(`${dir}/chunks`)) {
      if (e.isFile && e.name.endsWith(".js") && !chunkNames.has(e.name)) await Deno.remove(`${dir}/chunks/${e.name}`);
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const o = Deno.args.indexOf("-o");
  const out = o >= 0 ? Deno.args[o + 1] : undefined;
  if (!out || Deno.args.length !== 2) {
    console.error("usage: deno run -A scripts/bundle.ts -o dist/gost.js");
    Deno.exit(2);
  }
  try {
    await bundle(out);
  } catch (err) {
    console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
