#!/usr/bin/env node
// The `kjd` command. Commands are added per concern under src/cli/commands/.
import { Command } from 'commander';
import { VERSION } from '../version.ts';

export function buildProgram(): Command {
  return new Command('kjd')
    .description(
      'kube-job-dispatcher: turn work items (Redis list/stream, HTTP) into Kubernetes Jobs, exactly once, tracked to completion.',
    )
    .version(VERSION, '-v, --version', 'print the kjd version');
}

await buildProgram().parseAsync(process.argv);
