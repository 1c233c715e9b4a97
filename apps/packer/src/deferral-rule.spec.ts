import type { RunKind } from '@pbx/contracts';
import { deferralFor, maintenanceHolder, parseMaintenanceHolder, resumesEarly, type HolderRunState } from './deferral-rule';

const RUN = '0b6f1a52-3c1e-4a7e-9d55-1f2e3d4c5b6a';
const backup = maintenanceHolder('backup', RUN);
const archive = maintenanceHolder('archive', RUN);
const live = (status: 'queued' | 'deferred' | 'packing' | 'dispatching' = 'packing'): HolderRunState => ({ status, packed: status === 'dispatching' });
const packed: HolderRunState = { status: 'dispatching', packed: true };
const final: HolderRunState = { status: 'succeeded', packed: true };
const failedPacking: HolderRunState = { status: 'failed', packed: false };

describe('maintenance holder ids', () => {
  it('name the kind and run, and nothing else parses', () => {
    expect(parseMaintenanceHolder(backup)).toEqual({ kind: 'backup', runId: RUN });
    expect(parseMaintenanceHolder(archive)).toEqual({ kind: 'archive', runId: RUN });
    for (const other of [null, '', 'backup:42', 'restore:' + RUN, 'lock service unavailable', `${backup}x`]) expect(parseMaintenanceHolder(other)).toBeNull();
  });
});

describe('deferralFor', () => {
  const TAKE_OVER = { action: 'takeOver' };
  const HOUR = { action: 'defer', until: 'maintenanceDelay' };
  const FREES = { action: 'defer', until: 'lockFrees' };
  it.each<[RunKind, string | null, HolderRunState, object]>([
    // Archiving and backup never overlap: the second waits the delay while the first works.
    ['backup', archive, live('packing'), HOUR],
    ['backup', archive, live('dispatching'), HOUR], // archiving holds the lock until it deletes
    ['archive', backup, live('packing'), HOUR],
    // Two runs of one kind: the second goes as soon as the first lets go.
    ['backup', backup, live('packing'), FREES],
    ['archive', archive, live('dispatching'), FREES],
    // Left behind by a crash: a final run, or a backup that is packed.
    ['backup', backup, packed, TAKE_OVER],
    ['backup', backup, final, TAKE_OVER],
    ['backup', backup, failedPacking, TAKE_OVER],
    ['archive', backup, packed, TAKE_OVER],
    ['backup', archive, final, TAKE_OVER],
    ['archive', archive, { status: 'partially_failed', packed: true }, TAKE_OVER],
    // A holder we cannot judge is never taken over: wait until it lets go.
    ['backup', archive, null, HOUR],
    ['backup', backup, null, FREES],
    ['backup', null, null, FREES],
    ['backup', 'someone else', final, FREES],
  ])('%s meeting %s (%j) -> %j', (mine, holder, state, expected) => {
    expect(deferralFor(mine, holder, state)).toEqual(expected);
  });
});

describe('resumesEarly', () => {
  const other = maintenanceHolder('backup', 'ffffffff-ffff-4fff-8fff-ffffffffffff');
  it.each<[RunKind, string | null, HolderRunState, string | null, boolean]>([
    // Still held by the same live holder: keep waiting.
    ['backup', backup, live('packing'), backup, false],
    ['backup', archive, live('dispatching'), archive, false],
    // Still held, but its run is over: a lock left behind, go and take it over.
    ['backup', backup, packed, backup, true],
    ['backup', archive, final, archive, true],
    // The other backup let go (finished, or died): go now.
    ['backup', backup, packed, null, true],
    ['backup', backup, live('packing'), null, true],
    ['backup', backup, packed, other, true], // someone else got it first: go, and meet them
    // Archiving ran to its end: the hour stands.
    ['backup', archive, final, null, false],
    ['archive', backup, packed, null, false],
    // Archiving died (lock expired, run not final): go as soon as the lock is free.
    ['backup', archive, live('dispatching'), null, true],
    ['backup', archive, live('packing'), null, true],
    ['backup', archive, null, null, true],
    // Holders we could not judge: go once they no longer hold it.
    ['backup', null, null, null, true],
    ['backup', 'lock service unavailable', null, null, true],
    ['backup', 'someone else', null, 'someone else', false],
  ])('%s waiting for %s (%j), lock now %s -> %s', (mine, heldBy, state, current, expected) => {
    expect(resumesEarly(mine, heldBy, state, current)).toBe(expected);
  });
});
