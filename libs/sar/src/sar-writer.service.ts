import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CORE_TABLES, type ArchiveSelection, type AudioKind, type PbxSource } from '@pbx/pbx-source';
import { CsvRowCounter } from './csv-row-counter';
import {
  SAR_FORMAT,
  SAR_FORMAT_VERSION,
  SAR_MANIFEST_PATH,
  sectionsOf,
  type SarKind,
  type SarManifest,
  type SarManifestEntry,
  type SectionSelection,
} from './sar-manifest';
import { prepareDeflated, ZipWriter, type ArchiveSink, type PreparedData, type ZipEntryResult, type ZipMethod } from './zip-writer';

export interface SarProgress {
  bytesWritten: number;
  entriesDone: number;
  entriesTotal?: number;
}

/** What writeSar reads: the tables as CSV and the audio files (a live PBX, or a restore's set-aside data). */
export type SarSource = Pick<PbxSource, 'openCoreTable' | 'openCdrCsv' | 'openVoicemailCsv' | 'audioFiles'>;

export interface WriteSarOptions {
  source: SarSource;
  sections: SectionSelection;
  /** Where to write; callers pass `<dir>/<runId>.sar.partial` and rename on success. */
  outPath: string;
  configurationName: string;
  pbxId: string;
  kind: SarKind;
  /** For archive runs: pack exactly this selection's CDRs and voicemails. */
  archiveSelection?: ArchiveSelection;
  onProgress?: (progress: SarProgress) => void;
  signal?: AbortSignal;
  /** Deflate level for text entries (default 6, like `zip`). */
  textLevel?: number;
  /**
   * 0 (default): audio is stored, as format 1 and API.md specify. 1-9: audio is deflated at
   * this level too (an operator's choice for smaller archives; see docs/sar-format.md).
   */
  audioLevel?: number;
  /** Fixed creation time (tests); default now. */
  createdAt?: Date;
  /** Test only: see ZipWriterOptions.zip64From. */
  zip64From?: number;
  /**
   * The archive goes here instead of a file the writer creates at `outPath` (the packer's age
   * encryption, which writes `outPath` itself): the plain archive is never on disk. `outPath`
   * still names the spool files and is removed on failure. See ArchiveSink.
   */
  sink?: ArchiveSink;
}

export interface WriteSarResult {
  /** Size and SHA-256 of the file written (with a sink: the sink's file). */
  size: number;
  sha256: string;
  /** Entries in the zip, manifest included. */
  entries: number;
  counts: Record<string, number>;
  sections: string[];
}

const PROGRESS_EVERY_BYTES = 16 * 1024 * 1024;
/** Audio files deflated ahead of the one being appended (zlib's thread pool has 4 threads; the CDR spool uses one). */
const AUDIO_DEFLATE_AHEAD = 3;
/** Audio is stored (already dense; deflate would cost CPU for little), everything else deflated. */
const AUDIO_EXTENSIONS = /\.(wav|mp3|ogg|opus|gsm|alaw|ulaw|sln|g722)$/i;

export function methodFor(path: string): ZipMethod {
  return AUDIO_EXTENSIONS.test(path) ? 'store' : 'deflate';
}

/**
 * Streams the selected sections of a PBX into a .sar file. The manifest is written last
 * because it holds every entry's SHA-256, known only after the entry was streamed.
 * On any failure (or abort) the partial output is removed before the error is rethrown.
 */
export async function writeSar(options: WriteSarOptions): Promise<WriteSarResult> {
  try {
    return await writeSarInto(options);
  } catch (err) {
    // A sink the writer never got to (refused before the archive began) still holds a worker and a file.
    await options.sink?.abort().catch(() => undefined);
    throw err;
  }
}

async function writeSarInto(options: WriteSarOptions): Promise<WriteSarResult> {
  const { source, outPath, signal } = options;
  signal?.throwIfAborted();
  const createdAt = options.createdAt ?? new Date();
  const sections = sectionsOf(options.sections);
  const selection = options.kind === 'archive' ? options.archiveSelection : undefined;
  if (options.kind === 'archive' && !selection) throw new Error('an archive run needs an archive selection');
  const filter = selection ? { selectionId: selection.selectionId } : {};

  let lastReport = 0;
  let entriesDone = 0;
  const report = (bytesWritten: number, force = false) => {
    if (!options.onProgress || (!force && bytesWritten - lastReport < PROGRESS_EVERY_BYTES)) return;
    lastReport = bytesWritten;
    options.onProgress({ bytesWritten, entriesDone });
  };
  const zip = await ZipWriter.create(outPath, { modified: createdAt, onBytes: (b) => report(b), zip64From: options.zip64From, sink: options.sink });
  // Aborts the background deflating (CDR spool, audio spools) when the archive fails.
  const internal = new AbortController();
  const spoolSignal = signal ? AbortSignal.any([signal, internal.signal]) : internal.signal;
  const manifestEntries: SarManifestEntry[] = [];
  const counts: Record<string, number> = {};

  /** An entry is in the archive: list it in the manifest and report progress. */
  const recorded = (r: ZipEntryResult) => {
    manifestEntries.push({ path: r.path, size: r.size, sha256: r.sha256 });
    entriesDone += 1;
    report(zip.bytesWritten, true);
  };
  /** Appends an entry deflated ahead of time into `spool` (the CDR table, deflated audio). */
  const appendSpooled = async (path: string, prepared: PreparedData, spool: string) => {
    recorded(await zip.addPreparedEntry(path, prepared, createReadStream(spool, { highWaterMark: 1024 * 1024 }), signal));
  };
  const add = async (path: string, stream: Readable | Buffer, csvCounter?: CsvRowCounter) => {
    const method = methodFor(path);
    let r;
    try {
      r = await zip.addEntry(path, stream, {
        method,
        level: options.textLevel,
        tap: csvCounter ? (c) => csvCounter.push(c) : undefined,
        signal,
      });
    } catch (err) {
      // A source that never reached the pipeline still holds a DB connection or fd.
      if (!Buffer.isBuffer(stream)) stream.destroy();
      throw err;
    }
    recorded(r);
  };
  const addCsv = async (path: string, stream: Readable, countKey: string) => {
    const counter = new CsvRowCounter();
    await add(path, stream, counter);
    counts[countKey] = counter.dataRows;
  };
  const audioLevel = Math.max(0, Math.min(9, Math.floor(options.audioLevel ?? 0)));
  /** Deflated audio not yet appended, in archive order, with the deflating that writes each spool. */
  const audioSpools: { path: string; spool: string; prepared: Promise<PreparedData> }[] = [];
  let spoolSeq = 0;
  const addAudio = async (kind: AudioKind, countKey: string) => {
    let n = 0;
    const files = source.audioFiles(kind, kind === 'voicemail' ? filter : {});
    if (!audioLevel) {
      for await (const file of files) {
        signal?.throwIfAborted();
        await add(file.relativePath, createReadStream(file.absolutePath, { highWaterMark: 1024 * 1024 }));
        n += 1;
      }
      counts[countKey] = n;
      return;
    }
    // Deflating audio is CPU-bound: deflate the next files into spool files on zlib's thread
    // pool (both cores) while the current one is appended, in order. Memory stays bounded:
    // spools are on disk, not in memory.
    const appendOldest = async () => {
      const next = audioSpools[0];
      await appendSpooled(next.path, await next.prepared, next.spool);
      await rm(next.spool, { force: true });
      audioSpools.shift(); // only now: a failed append leaves its spool to the cleanup
      n += 1;
    };
    for await (const file of files) {
      signal?.throwIfAborted();
      const spool = `${outPath}.audio-spool-${spoolSeq++}`;
      const prepared = prepareDeflated(createReadStream(file.absolutePath, { highWaterMark: 1024 * 1024 }), spool, { level: audioLevel, signal: spoolSignal });
      prepared.catch(() => undefined); // awaited in appendOldest(); this only avoids an unhandled rejection meanwhile
      audioSpools.push({ path: file.relativePath, spool, prepared });
      if (audioSpools.length > AUDIO_DEFLATE_AHEAD) await appendOldest();
    }
    while (audioSpools.length) await appendOldest();
    counts[countKey] = n;
  };

  // The CDR table is by far the largest text: deflate it into a spool file in the background
  // (zlib's thread pool + the Postgres backend) while audio, which is only hashed, is written.
  const spoolPath = `${outPath}.cdr-spool`;
  let cdrSpool: Promise<PreparedData> | undefined;
  try {
    const cdrCounter = new CsvRowCounter();
    if (options.sections.cdrAndVoicemails) {
      const cdrStream = await source.openCdrCsv(filter);
      cdrSpool = prepareDeflated(cdrStream, spoolPath, { level: options.textLevel, tap: (c) => cdrCounter.push(c), signal: spoolSignal });
      cdrSpool.catch(() => undefined); // awaited below; this only avoids an unhandled rejection meanwhile
    }
    if (options.sections.coreData) {
      for (const table of CORE_TABLES) await addCsv(`core/${table}.csv`, await source.openCoreTable(table), table);
    }
    if (options.sections.cdrAndVoicemails) {
      await addCsv('voicemail/voicemails.csv', await source.openVoicemailCsv(filter), 'voicemails');
      await addAudio('voicemail', 'voicemailAudio');
    }
    if (options.sections.announcements) await addAudio('announcements', 'announcements');
    if (cdrSpool) {
      await appendSpooled('cdr/cdr.csv', await cdrSpool, spoolPath);
      counts.cdr = cdrCounter.dataRows;
    }

    const manifest: SarManifest = {
      format: SAR_FORMAT,
      formatVersion: SAR_FORMAT_VERSION,
      kind: options.kind,
      createdAt: createdAt.toISOString(),
      configurationName: options.configurationName,
      pbxId: options.pbxId,
      sections,
      ...(selection
        ? {
            archive: {
              selectionId: selection.selectionId,
              cdrOlderThan: selection.cdrOlderThan?.toISOString() ?? null,
              voicemailsOlderThan: selection.voicemailsOlderThan?.toISOString() ?? null,
            },
          }
        : {}),
      counts,
      entries: manifestEntries,
    };
    await zip.addEntry(SAR_MANIFEST_PATH, Buffer.from(JSON.stringify(manifest, null, 1)), { method: 'deflate', signal });
    const { size, sha256 } = await zip.finish();
    entriesDone += 1;
    report(size, true);
    return { size, sha256, entries: zip.entryCount, counts, sections };
  } catch (err) {
    internal.abort();
    await cdrSpool?.catch(() => undefined);
    await Promise.allSettled(audioSpools.map((a) => a.prepared)); // stopped writing before their files go
    await zip.abort(); // every write has ended before the file goes
    await rm(outPath, { force: true });
    throw err;
  } finally {
    await rm(spoolPath, { force: true });
    await Promise.all(audioSpools.map((a) => rm(a.spool, { force: true })));
  }
}
