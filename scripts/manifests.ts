// `npm run manifests`: deploy/manifests/kube-job-dispatcher.yaml is the Helm
// chart rendered with its defaults, for kubectl users. A test fails when the
// file and the chart drift apart.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { controlPlaneBinDir } from '../harness/cluster/binaries.ts';
import { repoRoot } from '../harness/paths.ts';

export const CHART_DIR = join(repoRoot, 'deploy', 'helm', 'kube-job-dispatcher');
export const MANIFESTS_FILE = join(repoRoot, 'deploy', 'manifests', 'kube-job-dispatcher.yaml');
/** How the manifests are rendered: release `kjd` in namespace `kjd`, Redis at redis://redis:6379. */
export const MANIFEST_ARGS = [
  'template',
  'kjd',
  CHART_DIR,
  '--namespace',
  'kjd',
  '--set',
  'redis.url=redis://redis:6379',
];

export async function renderManifests(helm: string): Promise<string> {
  const { stdout } = await promisify(execFile)(helm, MANIFEST_ARGS);
  return stdout;
}

if (import.meta.main) {
  const helm = join(await controlPlaneBinDir({ build: true, helm: true }), 'helm');
  await writeFile(MANIFESTS_FILE, await renderManifests(helm));
  console.log(`wrote ${MANIFESTS_FILE}`);
}
