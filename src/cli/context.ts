// What every command shares: the global options, one KubeClient built from
// them on first use, and where output goes (so tests can capture it).
import type { Command } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { JobOperations } from '../kube/jobs.ts';

export interface GlobalOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly output?: string;
  readonly debug?: boolean;
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export class CliContext {
  readonly io: CliIo;
  /** What the command wants `kjd` to exit with (commands never touch process.exitCode). */
  exitCode = 0;
  #client: KubeClient | undefined;
  #globals: GlobalOptions = {};
  #namespaceOverride: string | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  /** Called by each command with its own Command, to read the global flags. */
  use(command: Command): this {
    this.#globals = command.optsWithGlobals<GlobalOptions>();
    return this;
  }

  get globals(): GlobalOptions {
    return this.#globals;
  }

  get client(): KubeClient {
    const g = this.#globals;
    this.#client ??= KubeClient.connect({
      env: this.io.env,
      ...(g.kubeconfig !== undefined ? { kubeconfig: g.kubeconfig } : {}),
      ...(g.context !== undefined ? { context: g.context } : {}),
      ...(g.namespace !== undefined ? { namespace: g.namespace } : {}),
      ...(this.io.env.KJD_SERVICE_ACCOUNT_DIR !== undefined
        ? { serviceAccountDir: this.io.env.KJD_SERVICE_ACCOUNT_DIR }
        : {}),
    });
    return this.#client;
  }

  get jobs(): JobOperations {
    return new JobOperations(this.client);
  }

  get namespace(): string {
    return this.#namespaceOverride ?? this.client.namespace;
  }

  /** Later calls use `namespace` (e.g. where `launch` put the Job). */
  withNamespace(namespace: string): this {
    this.#namespaceOverride = namespace;
    return this;
  }

  print(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  async close(): Promise<void> {
    await this.#client?.close();
  }
}
