/**
 * A directory listing, byte for byte as Go's `http.FileServer` writes it (net/http `dirList`): the entries sorted
 * by name (directories with a trailing `/`), each a link whose href is the name escaped as a URL path and whose text
 * is the name HTML-escaped, in a `<pre>`.
 * @module
 */

const KEEP = /^[A-Za-z0-9\-_.~$&+,/:;=@]$/;
const encoder = new TextEncoder();

/** A name as Go's `url.URL{Path: name}.String()` writes it. */
export function escapePath(name: string): string {
  let out = "";
  for (const ch of name) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of encoder.encode(ch)) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  const slash = out.indexOf("/");
  const first = slash < 0 ? out : out.slice(0, slash);
  return first.includes(":") ? `./${out}` : out;
}

/** Go's `htmlReplacer`. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[c]!);
}

/** One entry of a listing. */
export interface ListEntry {
  name: string;
  dir: boolean;
}

/** The listing page (sorted by name, as Go sorts: by UTF-16 code units here, by bytes in Go). */
export function dirListing(entries: ListEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let s = '<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n';
  for (const e of sorted) {
    const name = e.dir ? `${e.name}/` : e.name;
    s += `<a href="${escapePath(name)}">${escapeHtml(name)}</a>\n`;
  }
  return s + "</pre>\n";
}
