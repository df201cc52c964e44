/**
 * The dashboard's files, imported as text so they are part of the module graph: served from memory the same way
 * under `deno run`, `deno run <URL>`, the bundle and a compiled binary, with no file reads at run time.
 * @module
 */
import apiJs from "./api.js" with { type: "text" };
import appJs from "./app.js" with { type: "text" };
import editorJs from "./editor.js" with { type: "text" };
import faviconSvg from "./favicon.svg" with { type: "text" };
import formatJs from "./format.js" with { type: "text" };
import graphJs from "./graph.js" with { type: "text" };
import indexHtml from "./index.html" with { type: "text" };
import nodesJs from "./nodes.js" with { type: "text" };
import rowTableJs from "./row_table.js" with { type: "text" };
import sessionsJs from "./sessions.js" with { type: "text" };
import styleCss from "./style.css" with { type: "text" };
import tunnelsJs from "./tunnels.js" with { type: "text" };
import uiJs from "./ui.js" with { type: "text" };

/** The dashboard's files (index.html, scripts, stylesheet, icon) by name. */
export const ASSETS: Readonly<Record<string, string>> = {
  "api.js": apiJs,
  "app.js": appJs,
  "editor.js": editorJs,
  "favicon.svg": faviconSvg,
  "format.js": formatJs,
  "graph.js": graphJs,
  "index.html": indexHtml,
  "nodes.js": nodesJs,
  "row_table.js": rowTableJs,
  "sessions.js": sessionsJs,
  "style.css": styleCss,
  "tunnels.js": tunnelsJs,
  "ui.js": uiJs,
};
