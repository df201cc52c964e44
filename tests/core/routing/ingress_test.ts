/**
 * Ingresses (core/routing/ingress.ts): GOST's host lookup (exact, `.name`, parent suffixes, port stripped), the `*.`
 * spelling, case, raw `tcp://`/`udp://` rules, refused endpoints and hostnames, and the config object with inline
 * `rules`, a `file` of `hostname endpoint` lines and `reload`, built by the runtime.
 */
import { deepEqual, equal, match, rejects, throws } from "node:assert/strict";
import { parseConfig } from "../../../core/config/load.ts";
import { nopLogger } from "../../../core/log.ts";
import { type FileIngress, IngressTable, parseIngressLine } from "../../../core/routing/ingress.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import { createBuiltinRegistries } from "../../../mod.ts";

const A = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const B = "ac74d9dd-3125-442a-a7c1-f9e49e05faca";
const C = "aede1f6a-762b-45da-b937-b6632356555a";

Deno.test("ingress lookup: exact name, then .name, then each parent suffix; the port is stripped", () => {
  const ing = new IngressTable([
    { hostname: "example.com", endpoint: A },
    { hostname: ".example.org", endpoint: B },
    { hostname: "*.example.net", endpoint: C },
    { hostname: "abc.example.org", endpoint: `$${A}` },
  ]);
  equal(ing.getRule("example.com")?.endpoint, A);
  equal(ing.getRule("EXAMPLE.com:8080")?.endpoint, A, "case and port");
  equal(ing.getRule("www.example.com"), undefined, "an exact rule covers no subdomain");
  equal(ing.getRule("example.org")?.endpoint, B, ".name covers the name itself");
  equal(ing.getRule("a.b.example.org:443")?.endpoint, B, "and every subdomain");
  equal(ing.getRule("abc.example.org")?.endpoint, `$${A}`, "an exact rule wins over a wildcard");
  equal(ing.getRule("x.abc.example.org")?.endpoint, B, "the nearest wildcard: .abc.example.org is not one");
  equal(ing.getRule("deep.sub.example.net")?.endpoint, C, "*.name is .name");
  equal(ing.getRule("example.net.")?.endpoint, C, "a trailing dot is ignored");
  equal(ing.getRule("other.test"), undefined);
  equal(ing.getRule(""), undefined);
  equal(ing.getRule("[::1]:80"), undefined);
  equal(ing.size, 4);
});

Deno.test("ingress raw rules: tcp:// and udp:// addresses are listed, never matched by a host name", () => {
  const ing = new IngressTable([
    { hostname: "tcp://:2222", endpoint: A },
    { hostname: "udp://127.0.0.1:5353", endpoint: B },
    { hostname: "tcp://[::1]:2223", endpoint: C },
  ]);
  deepEqual(ing.rawRules().map((r) => [r.network, r.host, r.port, r.endpoint]), [
    ["tcp", "", 2222, A],
    ["udp", "127.0.0.1", 5353, B],
    ["tcp", "::1", 2223, C],
  ]);
  equal(ing.getRule("tcp://:2222"), undefined);
  equal(ing.getRule("2222"), undefined);
});

Deno.test("ingress rules that would never route are refused naming the rule", () => {
  throws(() => new IngressTable([{ hostname: "a.test", endpoint: "not-a-uuid" }]), /a\.test: endpoint "not-a-uuid"/);
  throws(() => new IngressTable([{ hostname: "", endpoint: A }]), /without a hostname/);
  throws(() => new IngressTable([{ hostname: "http://a.test", endpoint: A }]), /tcp:\/\/\[host\]:port/);
  throws(() => new IngressTable([{ hostname: "tcp://:99999", endpoint: A }]), /out of range/);
  throws(() => parseIngressLine("lonely.test"), /hostname endpoint/);
  deepEqual(parseIngressLine(`a.test ${A} extra`), { hostname: "a.test", endpoint: A });
});

Deno.test("an ingresses object with inline rules, a file and reload is built by the runtime and re-read", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ingress.txt`;
  await Deno.writeTextFile(path, `# hostname endpoint\nfile.test ${B}\nbad line\n.wild.test ${C} # comment\n`);
  const reg = createBuiltinRegistries();
  const { config } = await parseConfig(
    JSON.stringify({
      ingresses: [{ name: "ing", rules: [{ hostname: "inline.test", endpoint: A }], file: { path }, reload: "1s" }],
    }),
    "ingress.json",
  );
  const rt = await Runtime.start(config, { reg, logger: nopLogger });
  try {
    const ing = reg.ingresses.get("ing") as FileIngress;
    equal(ing.getRule("inline.test")?.endpoint, A);
    equal(ing.getRule("file.test")?.endpoint, B);
    equal(ing.getRule("x.wild.test")?.endpoint, C);
    equal(ing.rules().length, 3, "the bad line is skipped");
    await Deno.writeTextFile(path, `file.test ${C}\n`);
    equal(await ing.reload(), true);
    equal(ing.getRule("file.test")?.endpoint, C);
    equal(ing.getRule("x.wild.test"), undefined);
    equal(ing.getRule("inline.test")?.endpoint, A, "inline rules stay");
  } finally {
    await rt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an ingresses object with a bad rule or an unreadable file fails naming its path", async () => {
  const build = async (obj: Record<string, unknown>) => {
    const { config } = await parseConfig(JSON.stringify({ ingresses: [obj] }), "bad.json");
    const rt = await Runtime.start(config, { reg: createBuiltinRegistries(), logger: nopLogger });
    await rt.close();
  };
  await rejects(
    build({ name: "i", rules: [{ hostname: "a.test", endpoint: "x" }] }),
    (e: Error) => (match(e.message, /ingresses\.i\.rules: .*endpoint "x"/), true),
  );
  await rejects(
    build({ name: "i", file: { path: "/nonexistent/ingress.txt" } }),
    (e: Error) => (match(e.message, /ingresses\.i\.file\.path: cannot read/), true),
  );
  await rejects(
    build({ name: "i", redis: { addr: "127.0.0.1:6379" } }),
    (e: Error) => (match(e.message, /redis source of ingresses is not supported/), true),
  );
});
