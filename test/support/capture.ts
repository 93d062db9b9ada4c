// Runs something that writes to a CliIo and returns what it wrote.
import type { CliIo } from '../../src/cli/context.ts';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sink(): CliIo['stderr'] & { text(): string } {
  const chunks: string[] = [];
  const s = {
    write(chunk: string | Uint8Array) {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
    text: () => chunks.join(''),
  };
  return s as unknown as CliIo['stderr'] & { text(): string };
}

export async function capture(
  run: (io: Pick<CliIo, 'stdout' | 'stderr'>) => Promise<number>,
): Promise<Captured> {
  const stdout = sink();
  const stderr = sink();
  const code = await run({ stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
