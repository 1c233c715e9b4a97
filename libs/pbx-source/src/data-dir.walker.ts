import { open, opendir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * Yields every regular file under `root/sub`, sorted by path so archives are deterministic.
 * A missing directory yields nothing. Only one directory listing is held at a time.
 */
export async function* walkFiles(
  root: string,
  sub: string,
): AsyncGenerator<{ relativePath: string; absolutePath: string; size: number }> {
  const absolute = join(root, sub);
  let names: { name: string; isDir: boolean; isFile: boolean }[];
  try {
    names = [];
    for await (const d of await opendir(absolute)) names.push({ name: d.name, isDir: d.isDirectory(), isFile: d.isFile() });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of names) {
    const rel = posix.join(sub, n.name);
    if (n.isDir) {
      yield* walkFiles(root, rel);
    } else if (n.isFile && !n.name.endsWith('.partial')) {
      const abs = join(root, rel);
      const st = await stat(abs);
      yield { relativePath: rel, absolutePath: abs, size: st.size };
    }
  }
}

/** Total bytes and number of files under a directory (recursively). */
export async function directorySize(root: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for await (const f of walkFiles(root, '')) {
    bytes += f.size;
    files += 1;
  }
  return { bytes, files };
}

/** Makes a file's bytes, or the renames and new names inside a folder, durable. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
