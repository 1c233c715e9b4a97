import { isFinalRunStatus, type RunKind, type RunStatus } from '@pbx/contracts';

/**
 * Who may wait for whom at the PBX maintenance lock, and for how long. The holder id names
 * the kind and run of the work holding the lock (`backup:<runId>`, `archive:<runId>`), so a
 * run that meets the lock can tell which rule applies by looking that run up.
 */

/** The lock's holder id for a run's work. */
export function maintenanceHolder(kind: RunKind, runId: string): string {
  return `${kind}:${runId}`;
}

const HOLDER = /^(backup|archive):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The kind and run of a holder id; null for anything else (not recorded yet, another system's name). */
export function parseMaintenanceHolder(holder: string | null): { kind: RunKind; runId: string } | null {
  const m = holder ? HOLDER.exec(holder) : null;
  return m ? { kind: m[1] as RunKind, runId: m[2].toLowerCase() } : null;
}

/** What the holder's run looks like now; null when it is not ours to judge (unknown run). */
export type HolderRunState = { status: RunStatus; packed: boolean } | null;

/**
 * The holder's work is over, so a lock it still holds was left behind by a crash: a run that
 * is final, or a backup that is packed (a backup holds the lock only while it packs; an
 * archive run holds it until the archived items are deleted, i.e. until it is final).
 */
export function holderIsDone(kind: RunKind, state: HolderRunState): boolean {
  if (!state) return false;
  return isFinalRunStatus(state.status) || (kind === 'backup' && state.packed);
}

export type Deferral =
  /** The lock was left behind: release that holder's lock and go in. */
  | { action: 'takeOver' }
  /** Archiving and backup never overlap: the second waits MAINTENANCE_DEFER_MS (less if the first dies). */
  | { action: 'defer'; until: 'maintenanceDelay' }
  /** Two runs of one kind (or a holder we cannot judge): wait until the lock frees, then go. */
  | { action: 'defer'; until: 'lockFrees' };

/** Archiving and backup never overlap: the second waits the maintenance delay. Two of one kind do not. */
function waitsTheDelay(mine: RunKind, holderKind: RunKind): boolean {
  return mine !== holderKind;
}

/** The one rule for a run of kind `mine` that found the lock held by `holder`. */
export function deferralFor(mine: RunKind, holder: string | null, holderRunState: HolderRunState): Deferral {
  const other = parseMaintenanceHolder(holder);
  if (!other) return { action: 'defer', until: 'lockFrees' };
  if (holderIsDone(other.kind, holderRunState)) return { action: 'takeOver' };
  return waitsTheDelay(mine, other.kind) ? { action: 'defer', until: 'maintenanceDelay' } : { action: 'defer', until: 'lockFrees' };
}

/**
 * A deferred run waits for `heldBy` (its last deferral's holder); the lock is now held by
 * `currentHolder` (null: free). True when it should go now instead of at its deferral's end:
 * the holder left its lock behind, or the lock is no longer the holder's — unless that was
 * archiving against backup and the first ran to its end (then the hour stands). A holder
 * that died (its lock expired, its run not final) keeps nobody waiting.
 */
export function resumesEarly(mine: RunKind, heldBy: string | null, heldByRunState: HolderRunState, currentHolder: string | null): boolean {
  const other = parseMaintenanceHolder(heldBy);
  const done = !!other && holderIsDone(other.kind, heldByRunState);
  if (heldBy !== null && currentHolder === heldBy) return done;
  if (!other) return true;
  return !(done && waitsTheDelay(mine, other.kind));
}
