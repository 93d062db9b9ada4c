// For test/realnode/: whether the cluster has a real node (and so whether
// those tests run, skip with the reason, or fail because the node should
// have started), which image its Pods use, and a Job template pinned to it.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { nodeLayout } from '../../harness/node/config.ts';
import { REAL_NODE_KEY, REAL_NODE_SELECTOR, REAL_NODE_TOLERATION } from '../../harness/node/real-node.ts';
import { TESTSH_IMAGE } from '../../harness/node/testsh-image.ts';
import { testEnv } from './env.ts';

/** The image images/build.sh makes (seed 000's worker on dash); the tests' own shell image otherwise. */
export const WORKER_IMAGE = 'localhost/kjd-worker:local';

export interface RealNodeContext {
  /** A reason to skip (the host cannot run the node), or false. */
  readonly skip: string | false;
  /** The node should be there and is not: the tests fail with this. */
  readonly failure?: string;
  readonly name?: string;
  /** An image on the node with /bin/sh, touch and id. */
  readonly image: string;
  /** Every image the node holds (its status). */
  readonly images: readonly string[];
}

/**
 * From the global setup's KJD_TEST_REAL_NODE*, or, for a file run on its own
 * against a cluster (KJD_TEST_KUBECONFIG only), from the API: a Ready Node
 * labelled kjd.dev/real-node=true.
 */
export async function realNodeContext(): Promise<RealNodeContext> {
  const env = testEnv();
  if (env.realNodeFailed)
    return { skip: false, failure: env.realNodeReason, image: TESTSH_IMAGE, images: [] };
  const node = await readyRealNode(env.kubeconfigPath);
  if (node === undefined) {
    const why = env.realNodeReason || `the cluster has no Ready Node labelled ${REAL_NODE_KEY}=true`;
    return { skip: `no real node: ${why}`, image: TESTSH_IMAGE, images: [] };
  }
  const images = (node.status?.images ?? []).flatMap((i) => i.names ?? []);
  return {
    skip: false,
    name: node.metadata?.name ?? '',
    image: images.includes(WORKER_IMAGE) ? WORKER_IMAGE : TESTSH_IMAGE,
    images,
  };
}

/** Fails the calling test when the host should have run the node and it did not start. */
export function requireRealNode(rn: RealNodeContext): void {
  if (rn.failure !== undefined) throw new Error(`the real node should be running and is not: ${rn.failure}`);
}

async function readyRealNode(kubeconfigPath: string): Promise<V1Node | undefined> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const list = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `${REAL_NODE_KEY}=true` });
  return list.items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

/**
 * A Job template for the real node whose container runs `sh -c` with VALUE
 * twice: as a positional argument ("$@") and, as seed 000 had it, inside the
 * script (where kjd quotes it). The container itself reports whether
 * /tmp/pwned exists, writes a termination message and exits with EXIT_CODE.
 */
export async function writeShTemplate(dir: string, name: string, image: string): Promise<string> {
  const script = [
    `for a in "$@"; do printf 'arg: [%s]\\n' "$a"; done`,
    `printf 'inline: [%s]\\n' \${VALUE}`,
    `if [ -e /tmp/pwned ]; then echo 'pwned: yes'; else echo 'pwned: no'; fi`,
    `sleep \${SLEEP}`,
    `printf 'exit %s: %s' \${EXIT_CODE} \${VALUE} > /dev/termination-log`,
    `exit \${EXIT_CODE}`,
  ].join('\n');
  const template = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      annotations: {
        'kjd.dev/parameters': [
          'VALUE: { type: string, required: true }',
          'EXIT_CODE: { type: integer, default: 0 }',
          'SLEEP: { type: integer, default: 0 }',
        ].join('\n'),
      },
    },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 600,
      template: {
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { [REAL_NODE_KEY]: 'true' },
          tolerations: [{ key: REAL_NODE_KEY, operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'sh',
              image,
              imagePullPolicy: 'Never',
              command: ['sh', '-c', script, 'sh', '${VALUE}'],
            },
          ],
        },
      },
    },
  };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify(template, null, 2));
  return file;
}

/** nodeSelector and toleration for a Pod that must run on the real node (tainted for everything else). */
export const REAL_NODE_SCHEDULING = {
  nodeSelector: REAL_NODE_SELECTOR,
  tolerations: [REAL_NODE_TOLERATION],
};

/**
 * The ServiceAccount token the kubelet has projected into a Pod's volume right
 * now, read from the host (the node's kubelet keeps its root in the cluster's folder).
 */
export async function projectedTokenOf(podUid: string, volume: string): Promise<string> {
  const kubeletRoot = nodeLayout(join(dirname(testEnv().kubeconfigPath), 'node')).kubeletRoot;
  const file = join(kubeletRoot, 'pods', podUid, 'volumes', 'kubernetes.io~projected', volume, 'token');
  return (await readFile(file, 'utf8')).trim();
}
