// Kubeconfig files for the local cluster's components and its admin. Cert
// data is embedded so a kubeconfig stays valid when copied elsewhere.
import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { CertPair } from './pki.ts';

export interface KubeconfigSpec {
  readonly server: string;
  readonly caCert: string;
  readonly user: string;
  readonly identity: CertPair;
  readonly contextName?: string;
  readonly namespace?: string;
}

const b64 = async (file: string) => (await readFile(file)).toString('base64');

export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  const name = spec.contextName ?? 'kjd-local';
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server: spec.server, 'certificate-authority-data': await b64(spec.caCert) } },
    ],
    users: [
      {
        name: spec.user,
        user: {
          'client-certificate-data': await b64(spec.identity.cert),
          'client-key-data': await b64(spec.identity.key),
        },
      },
    ],
    contexts: [
      {
        name,
        context: { cluster: name, user: spec.user, ...(spec.namespace ? { namespace: spec.namespace } : {}) },
      },
    ],
    'current-context': name,
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
}
