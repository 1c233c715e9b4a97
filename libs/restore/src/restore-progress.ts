import type { PbxSection, RestoreMode } from '@pbx/pbx-source';
import type { RestorePhase, RestoreProgress, SectionProgress, SectionStatus } from './restore.types';

const BYTES_EVERY = 8 * 1024 * 1024;

/** Keeps the state of one restore and tells the caller on changes (bytes: every 8 MiB). */
export class RestoreProgressTracker {
  private phase: RestorePhase = 'verifying';
  private heldBy: string | null | undefined;
  private bytesDone = 0;
  private bytesTotal: number | null = null;
  private reported = 0;
  private readonly sections: SectionProgress[] = [];

  constructor(
    private readonly restoreId: string | null,
    private readonly listener?: (progress: RestoreProgress) => void,
  ) {}

  waiting(heldBy: string | null): void {
    this.phase = 'waiting';
    this.heldBy = heldBy;
    this.emit();
  }

  enter(phase: RestorePhase, bytesTotal: number | null = null): void {
    this.phase = phase;
    this.heldBy = undefined;
    this.bytesDone = 0;
    this.reported = 0;
    this.bytesTotal = bytesTotal;
    this.emit();
  }

  /** Adds bytes to the phase's count. */
  add(bytes: number): void {
    this.bytesDone += bytes;
    if (this.bytesDone - this.reported >= BYTES_EVERY) this.emit();
  }

  /** Sets the phase's count (writers that report a running total). */
  set(bytesDone: number): void {
    this.bytesDone = bytesDone;
    if (this.bytesDone - this.reported >= BYTES_EVERY) this.emit();
  }

  addSection(section: PbxSection, mode: RestoreMode): void {
    this.sections.push({ section, mode, status: 'pending', rowsInserted: 0, rowsDeleted: 0, filesWritten: 0 });
  }

  section(section: PbxSection, change: Partial<Omit<SectionProgress, 'section' | 'mode'>> & { status?: SectionStatus }): void {
    const s = this.sections.find((x) => x.section === section);
    if (s) Object.assign(s, change);
    this.emit();
  }

  snapshot(): RestoreProgress {
    return {
      restoreId: this.restoreId,
      phase: this.phase,
      ...(this.heldBy !== undefined ? { heldBy: this.heldBy } : {}),
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      sections: this.sections.map((s) => ({ ...s })),
    };
  }

  private emit(): void {
    this.reported = this.bytesDone;
    // A listener's failure (an event that could not be sent) must not break the restore.
    try {
      this.listener?.(this.snapshot());
    } catch {
      /* ignored on purpose */
    }
  }
}
