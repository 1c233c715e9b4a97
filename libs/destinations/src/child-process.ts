import { existsSync } from 'node:fs';

let setpriv: string | null | undefined;

/**
 * The command line that runs `file` so that it dies with this process: util-linux's
 * `setpriv --pdeathsig KILL` sets PR_SET_PDEATHSIG and execs the command (same pid, so
 * signals and exit codes are the command's own). A SIGKILLed dispatcher cannot clean up, and
 * a `cp` or `smbclient` that outlived it would finish a partial file nobody renames.
 * Where setpriv is missing (not Linux) the command runs as it is.
 */
export function dyingWithParent(file: string, args: readonly string[]): { file: string; args: string[] } {
  setpriv ??= ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  return setpriv ? { file: setpriv, args: ['--pdeathsig', 'KILL', '--', file, ...args] } : { file, args: [...args] };
}

/** setpriv's answer when it could not exec the command (like a shell's). */
export const EXEC_FAILED_EXIT = 127;
