// `deno task layers`: the layer check (check.ts) and the module state check (module_state.ts) over the repository;
// exits 1 when either finds something.
import { analyze, failed, formatReport, protocolNames, scanProtocolNames, scanTree } from "./check.ts";
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
if (failed(scan, result, names) || stateLines.length) Deno.exit(1);
