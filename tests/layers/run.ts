// `deno task layers`: the layer check (check.ts), the module state check (module_state.ts) and the doc references
// check (doc_refs.ts) over the repository; exits 1 when any finds something.
import { analyze, failed, formatReport, protocolNames, scanProtocolNames, scanTree } from "./check.ts";
import { brokenRefs, type DocRef, findDocRefs, headings } from "./doc_refs.ts";
import { compareState, findModuleState, formatStateReport, parseStateList, type StateBinding } from "./module_state.ts";

const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const scan = await scanTree(root);
const result = analyze(scan.graph);
const names = await scanProtocolNames(root, await protocolNames(root));
console.log(formatReport(scan, result, names));
const found: StateBinding[] = [];
for (const file of scan.graph.keys()) found.push(...findModuleState(file, await Deno.readTextFile(`${root}/${file}`)));
const state = compareState(found, parseStateList(await Deno.readTextFile(`${root}/docs/architecture.md`)));
const stateLines = formatStateReport(state);
console.log(stateLines.length ? stateLines.join("\n") : `module state: ${found.length} bindings, all listed`);
const refs: DocRef[] = [];
for (const file of scan.graph.keys()) refs.push(...findDocRefs(file, await Deno.readTextFile(`${root}/${file}`)));
const docs = new Map<string, Set<string> | undefined>();
for (const doc of new Set(refs.map((r) => r.doc))) {
  docs.set(doc, await Deno.readTextFile(`${root}/${doc}`).then(headings, () => undefined));
}
const broken = brokenRefs(refs, docs);
if (broken.length) {
  console.log(`comments citing a section that does not exist: ${broken.length}`);
  for (const r of broken) console.log(`  ${r.file}:${r.line} ${r.doc}, "${r.section}"`);
} else console.log(`doc references: ${refs.length}, all found`);
if (failed(scan, result, names) || stateLines.length || broken.length) Deno.exit(1);
