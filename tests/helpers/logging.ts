/**
 * Reading rotated log file sets back in the logging tests.
 * @module
 */

/** A gzipped file's text. */
export async function gunzip(path: string): Promise<string> {
  const file = await Deno.open(path);
  return await new Response(file.readable.pipeThrough(new DecompressionStream("gzip"))).text();
}

/**
 * A rotated set in a directory holding nothing else: every file, oldest first (backups sort by the time in their
 * names, the current file last), and their text joined, decompressed. A backup whose compression was done but whose
 * original was not removed yet (an exit in between) counts once, as its .gz.
 */
export async function readSet(dir: string, current: string): Promise<{ files: string[]; text: string }> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  const backups = names.filter((n) => n !== current && !names.includes(`${n}.gz`));
  const files = [...backups.sort(), current];
  let text = "";
  for (const n of files) {
    text += n.endsWith(".gz") ? await gunzip(`${dir}/${n}`) : await Deno.readTextFile(`${dir}/${n}`);
  }
  return { files, text };
}
