/**
 * The YAML writer behind `-O yaml` and saved configs (core/config/yaml_writer.ts): it reads back as the same data
 * under the `yaml` package (YAML 1.2) and as strings under YAML 1.1 rules, and its layout is the `yaml` package's.
 */
import { deepEqual, equal } from "node:assert/strict";
import { parseDocument, stringifyYaml as stringify } from "../../../core/deps/yaml.ts";
import { writeYaml } from "../../../core/config/yaml_writer.ts";

const parse = (text: string, opts?: { version: "1.1" | "1.2" }) => parseDocument(text, opts).toJS();

/** Strings that look like something else, or need quoting, in YAML. */
const TRICKY = [
  ":1080",
  "127.0.0.1:8080",
  "[::1]:8080",
  "-x",
  "- x",
  "a: b",
  "a:b",
  "#x",
  "a #b",
  "a#b",
  "true",
  "True",
  "FALSE",
  "yes",
  "No",
  "on",
  "OFF",
  "y",
  "n",
  "null",
  "Null",
  "~",
  "1",
  "-1",
  "+1",
  "1.5",
  ".5",
  "1.",
  "0x1f",
  "0o17",
  "0b1",
  "012",
  "1_000",
  "1e3",
  "1E-3",
  ".inf",
  "-.Inf",
  ".nan",
  "NaN",
  "",
  " a",
  "a ",
  "a\nb",
  "a\r\nb",
  "\t",
  "é",
  "日本",
  "[a]",
  "a,b",
  ",a",
  "*a",
  "&a",
  "!a",
  "%a",
  "@a",
  "`a",
  "'a",
  '"a',
  "?a",
  "? a",
  "|",
  ">",
  "{a}",
  "2001-12-14",
  "2001-12-14T21:59:43Z",
  "1:20",
  "190:20:30",
  "=",
  "<<",
  "a'b",
  'a"b',
  "-",
  "?",
  ":",
  "a:",
  "http://a:b@c/d?e=f#g",
  "socks5://:1080",
  "a\\b",
  "\u0001",
  "\x7f",
  "a\u2028b",
  "\ufeffa",
  "a\u0085b",
  "--",
  "---",
  "...",
  "a  b",
];

Deno.test("every tricky string reads back as itself, as a value and as a key", () => {
  for (const s of TRICKY) {
    const doc = writeYaml({ k: s, list: [s], [s]: 1 });
    deepEqual(parse(doc), { k: s, list: [s], [s]: 1 }, `${JSON.stringify(s)} written as:\n${doc}`);
    deepEqual(
      parse(doc, { version: "1.1" }),
      { k: s, list: [s], [s]: 1 },
      `YAML 1.1 reads ${JSON.stringify(s)}:\n${doc}`,
    );
  }
});

Deno.test("a config's layout is the yaml package's (indent 2, sequences indented, no line folding)", () => {
  const config = {
    services: [
      {
        name: "service-0",
        addr: ":1080",
        handler: { type: "socks5", auth: { username: "u", password: "p" }, metadata: { a: 1, b: true, c: "x y" } },
        listener: { type: "tcp" },
        forwarder: { nodes: [{ name: "target-0", addr: "127.0.0.1:80" }] },
      },
      { name: "service-1", addr: "[::1]:8080", handler: { type: "http", chain: "chain-0" }, listener: { type: "tls" } },
    ],
    chains: [{ name: "chain-0", hops: [{ name: "hop-0", nodes: [{ name: "node-0", addr: "127.0.0.1:1081" }] }] }],
    empty: [],
    none: {},
    nested: [[1, 2], [{ a: 1, b: [] }], []],
    long: "x".repeat(200) + " " + "y".repeat(200),
    numbers: [0, -3, 1.25, 1e21, 65535],
  };
  equal(writeYaml(config), stringify(config, { indent: 2, lineWidth: 0 }));
});

Deno.test("scalars and empty documents", () => {
  equal(writeYaml({}), "{}\n");
  equal(writeYaml([]), "[]\n");
  equal(writeYaml("a: b"), '"a: b"\n');
  equal(writeYaml(3), "3\n");
  deepEqual(parse(writeYaml({ n: NaN, p: Infinity, m: -Infinity })), { n: NaN, p: Infinity, m: -Infinity });
  equal(writeYaml({ a: undefined, b: 1 }), "b: 1\n");
});

Deno.test("random strings of YAML's special characters read back as themselves", () => {
  const alphabet = [..." -?:,[]{}#&*!|>'\"%@`\\\t\n.0123456789aeEx_+~=<ny"];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 5000; i++) {
    const s = Array.from({ length: 1 + (next() % 8) }, () => alphabet[next() % alphabet.length]).join("");
    const doc = writeYaml({ k: s, [s]: [s] });
    deepEqual(parse(doc), { k: s, [s]: [s] }, `${JSON.stringify(s)} written as:\n${doc}`);
  }
});
