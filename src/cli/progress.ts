// Live progress of a Job for `--wait`: one rewritten line on a terminal,
// one plain line per change otherwise (logs, CI).
import type { JobState } from '../kube/job-status.ts';
import type { CliIo } from './context.ts';

export function describeState(name: string, s: JobState): string {
  const reason = s.reason === undefined ? '' : ` (${s.reason})`;
  return `job/${name} ${s.phase}${reason} active=${s.active} ready=${s.ready} succeeded=${s.succeeded} failed=${s.failed}`;
}

export function progressReporter(io: CliIo, name: string): { update(s: JobState): void; done(): void } {
  const tty = io.stderr === process.stderr && process.stderr.isTTY;
  let shown = false;
  return {
    update(s) {
      const line = describeState(name, s);
      if (tty) {
        io.stderr.write(`\r\x1b[2K${line}`);
        shown = true;
      } else io.stderr.write(`${line}\n`);
    },
    done() {
      if (tty && shown) io.stderr.write('\n');
    },
  };
}
