/**
 * Helpers for the distribution tests: the repo's deno tasks run with their output redirected to a temporary
 * directory (so parallel runs never share `dist/`), and a static file server for `deno run <URL>`.
 * @module
 */
import { ROOT } from "../helpers/process.ts";

/** A task's command line from deno.json, split at spaces (the tasks use no quotes). */
export async function taskArgv(name: string): Promise<string[]> {
  const cfg = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = cfg.tasks[name];
  if (!task) throw new Error(`deno.json has no "${name}" task`);
  return task.trim().split(/\s+/);
}

/**
 * Runs a deno task whose output is `-o <default>`, writing to `out` instead.
 * @returns the exit code and output
 */
export async function runTaskTo(name: string, defaultOut: string, out: string, env?: Record<string, string>) {
  const argv = await taskArgv(name);
  const o = argv.indexOf("-o");
  if (argv[0] !== "deno" || o < 0 || argv[o + 1] !== defaultOut) {
    throw new Error(`the ${name} task does not write ${defaultOut}: ${argv.join(" ")}`);
  }
  argv[o + 1] = out;
  const res = await new Deno.Command(Deno.execPath(), {
    args: argv.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: res.code, output: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

/** Builds the bundle (`deno task bundle`) into `dir`/gost.js. @throws when bundling fails */
export async function buildBundle(dir: string): Promise<string> {
  const out = `${dir}/gost.js`;
  const r = await runTaskTo("bundle", "dist/gost.js", out);
  if (r.code !== 0) throw new Error(`deno task bundle failed:\n${r.output}`);
  return out;
}

/** Serves the files under `root` over HTTP on 127.0.0.1, as a static host would. */
export function staticServer(root: string): { url: string; requests: () => number; close(): Promise<void> } {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests++;
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("forbidden", { status: 403 });
    try {
      const body = await Deno.readFile(`${root}${path}`);
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/**
 * Parses an XML property list (the subset launchd files use: dict, array, key, string, integer, true, false),
 * strictly: unbalanced or unknown elements, a key without a value, or `--` inside a comment throw.
 */
export function parsePlist(xml: string): Record<string, PlistValue> {
  for (const c of xml.matchAll(/<!--([\s\S]*?)-->/g)) {
    if (c[1].includes("--")) throw new Error(`"--" inside an XML comment: ${c[1].slice(0, 40)}…`);
  }
  const body = xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?xml[^>]*\?>/, "").replace(/<!DOCTYPE[^>]*>/, "");
  const root = /^\s*<plist version="1\.0">([\s\S]*)<\/plist>\s*$/.exec(body);
  if (!root) throw new Error('not a <plist version="1.0"> document');
  const tokens = [...root[1].matchAll(/<(\/?)(\w+)(\/?)>([^<]*)/g)];
  let i = 0;
  const value = (): PlistValue => {
    const [, close, tag, empty, text] = tokens[i++] ?? [];
    if (close) throw new Error(`unexpected </${tag}>`);
    const end = (t: string) => {
      const e = tokens[i++];
      if (!e || e[1] !== "/" || e[2] !== t) throw new Error(`<${t}> is not closed`);
    };
    switch (empty ? `${tag}/` : tag) {
      case "true/":
        return true;
      case "false/":
        return false;
      case "string":
        end("string");
        return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      case "integer":
        end("integer");
        if (!/^-?\d+$/.test(text.trim())) throw new Error(`bad integer ${text}`);
        return Number(text);
      case "array": {
        const out: PlistValue[] = [];
        while (tokens[i] && tokens[i][1] !== "/") out.push(value());
        end("array");
        return out;
      }
      case "dict": {
        const out: Record<string, PlistValue> = {};
        while (tokens[i] && tokens[i][1] !== "/") {
          const k = tokens[i++];
          if (k[2] !== "key") throw new Error(`<${k[2]}> where a <key> belongs`);
          end("key");
          if (k[4] in out) throw new Error(`duplicate key ${k[4]}`);
          out[k[4]] = value();
        }
        end("dict");
        return out;
      }
      default:
        throw new Error(`unknown element <${tag}>`);
    }
  };
  const top = value();
  if (i !== tokens.length || typeof top !== "object" || Array.isArray(top)) throw new Error("the root is not one dict");
  return top as Record<string, PlistValue>;
}
