import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Mainstream ZIP readers an archive must satisfy (issue #18). Each reads every entry (and checks
 * its CRC) where the tool can; the streaming ones (bsdtar from a pipe, ZipInputStream) see only
 * local headers, so they find every entry only if each local header tells where its data ends.
 */
export const ZIP_READERS = ['unzip -t', 'python zipfile', '7z t', 'bsdtar -tf - (pipe)', 'java ZipFile', 'java ZipInputStream (pipe)'] as const;
export type ZipReader = (typeof ZIP_READERS)[number];

/** Tool -> the Debian package that has it (.ci/run installs them). */
const TOOLS: Record<string, string> = {
  unzip: 'unzip',
  python3: 'python3',
  '7z': 'p7zip-full',
  bsdtar: 'libarchive-tools',
  java: 'default-jdk-headless',
  javac: 'default-jdk-headless',
};

const PYTHON_TEST = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad:
        sys.exit('bad entry ' + bad)
    sys.stdout.write(''.join(n + '\\n' for n in z.namelist()))
`;

/** ZipFile reads through the central directory, ZipInputStream only through local headers. */
const JAVA_CLASS = 'ZipReadCheck';
const JAVA_SOURCE = `
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.Enumeration;
import java.util.zip.*;

public class ${JAVA_CLASS} {
  public static void main(String[] args) throws IOException {
    byte[] buf = new byte[1 << 20];
    PrintStream out = new PrintStream(new BufferedOutputStream(System.out), false, StandardCharsets.UTF_8);
    if (args[0].equals("ZipFile")) {
      try (ZipFile zip = new ZipFile(args[1])) {
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements();) {
          ZipEntry e = en.nextElement();
          try (InputStream in = zip.getInputStream(e)) { check(e, in, buf); }
          out.println(e.getName());
        }
      }
    } else {
      try (ZipInputStream zin = new ZipInputStream(new BufferedInputStream(System.in, 1 << 16))) {
        for (ZipEntry e; (e = zin.getNextEntry()) != null;) { check(e, zin, buf); out.println(e.getName()); }
      }
    }
    out.flush();
  }

  // ZipFile does not check CRCs itself; ZipInputStream does, this checks again.
  static void check(ZipEntry e, InputStream in, byte[] buf) throws IOException {
    CRC32 crc = new CRC32();
    long size = 0;
    for (int n; (n = in.read(buf)) > 0;) { crc.update(buf, 0, n); size += n; }
    if (size != e.getSize() || crc.getValue() != e.getCrc()) {
      throw new ZipException(e.getName() + ": read " + size + " bytes, CRC " + Long.toHexString(crc.getValue()) + "; entry says " + e.getSize() + ", " + Long.toHexString(e.getCrc()));
    }
  }
}
`;

const BIG_OUTPUT = 512 * 1024 * 1024;

export interface ZipReaders {
  /** The entry names each reader read, in archive order; rejects naming the first reader that failed. */
  readAll(zipPath: string): Promise<Record<ZipReader, string[]>>;
}

/**
 * Checks that every reader's tool is installed (a missing one fails the test, never skips it)
 * and compiles the Java reader into `workDir`.
 */
export async function zipReaders(workDir: string): Promise<ZipReaders> {
  const missing: string[] = [];
  for (const tool of Object.keys(TOOLS)) {
    await run('sh', ['-c', 'command -v "$1"', '_', tool]).catch(() => missing.push(`${tool} (Debian package ${TOOLS[tool]})`));
  }
  if (missing.length) throw new Error(`ZIP reader check: missing ${missing.join(', ')}; .ci/run installs them (apt-get install)`);
  await writeFile(join(workDir, `${JAVA_CLASS}.java`), JAVA_SOURCE);
  await run('javac', ['-d', workDir, join(workDir, `${JAVA_CLASS}.java`)]);

  const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '');
  /**
   * `cat file | tool`: a real pipe, as a streaming reader meets a download. The tool's status
   * is the pipe's: it may stop at the central directory, and cat then dies of SIGPIPE.
   */
  const piped = (zipPath: string, command: string, ...args: string[]) =>
    run('bash', ['-c', 'cat -- "$1" | "${@:2}"', '_', zipPath, command, ...args], { maxBuffer: BIG_OUTPUT });
  const readers: Record<ZipReader, (zipPath: string) => Promise<string[]>> = {
    'unzip -t': async (p) => {
      const { stdout } = await run('unzip', ['-t', p], { maxBuffer: BIG_OUTPUT });
      if (!/No errors detected/.test(stdout)) throw new Error(stdout.slice(-2000));
      return lines(stdout).flatMap((l) => /^\s+testing: (.*?)\s+OK$/.exec(l)?.[1] ?? []);
    },
    'python zipfile': async (p) => lines((await run('python3', ['-c', PYTHON_TEST, p], { maxBuffer: BIG_OUTPUT })).stdout),
    '7z t': async (p) => {
      const { stdout } = await run('7z', ['t', '-bb1', p], { maxBuffer: BIG_OUTPUT });
      if (!/Everything is Ok/.test(stdout) || /WARNING|ERROR/i.test(stdout)) throw new Error(stdout.slice(-2000));
      return lines(stdout).flatMap((l) => /^T (.*)$/.exec(l)?.[1] ?? []);
    },
    'bsdtar -tf - (pipe)': async (p) => lines((await piped(p, 'bsdtar', '-tf', '-')).stdout),
    'java ZipFile': async (p) => lines((await run('java', ['-cp', workDir, JAVA_CLASS, 'ZipFile', p], { maxBuffer: BIG_OUTPUT })).stdout),
    'java ZipInputStream (pipe)': async (p) => lines((await piped(p, 'java', '-cp', workDir, JAVA_CLASS, 'ZipInputStream')).stdout),
  };
  return {
    async readAll(zipPath) {
      const result = {} as Record<ZipReader, string[]>;
      for (const reader of ZIP_READERS) {
        try {
          result[reader] = await readers[reader](zipPath);
        } catch (err) {
          const e = err as Error & { stderr?: string };
          throw new Error(`${reader} cannot read ${zipPath}: ${(e.stderr || e.message).trim().slice(-2000)}`);
        }
      }
      return result;
    },
  };
}
