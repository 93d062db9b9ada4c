// The real node's configuration files: containerd's, the CNI network's and
// the kubelet's. Values come from ../shared/real-node.md, each checked on a
// Debian bookworm host with cgroups v1 (hybrid): the comments say why.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BRIDGE_NAME, CNI_BIN_DIR, HOST_BINARIES } from './host.ts';

export const PAUSE_IMAGE = 'localhost/pause:local';
export const POD_SUBNET = '10.88.0.0/16';

/** Every folder and file of one real node, all under `<cluster dir>/node`. */
export interface NodeLayout {
  readonly dir: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly socket: string;
  readonly cniConfDir: string;
  readonly kubeletConfig: string;
  readonly kubeletKubeconfig: string;
  readonly kubeletRoot: string;
  readonly certDir: string;
}

export function nodeLayout(dir: string): NodeLayout {
  return {
    dir,
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    socket: join(dir, 'containerd', 'containerd.sock'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletRoot: join(dir, 'kubelet', 'root'),
    certDir: join(dir, 'pki'),
  };
}

export async function writeContainerdConfig(l: NodeLayout): Promise<void> {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const toml = `version = 2
root = "${l.containerdRoot}"
state = "${l.containerdState}"
# oom_score_adj cannot go below 0 on these hosts.
oom_score = 0
[grpc]
  address = "${l.socket}"
[ttrpc]
  address = "${l.socket}.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "${join(l.dir, 'containerd', 'opt')}"
  [${cri}]
    sandbox_image = "${PAUSE_IMAGE}"
    restrict_oom_score_adj = true
    # Network namespaces under our state folder, not /var/run/netns.
    netns_mounts_under_state_dir = true
    disable_apparmor = true
    enable_selinux = false
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [${cri}.cni]
      bin_dir = "${CNI_BIN_DIR}"
      conf_dir = "${l.cniConfDir}"
      max_conf_num = 1
    [${cri}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [${cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [${cri}.containerd.runtimes.runc.options]
          BinaryName = "${HOST_BINARIES.runc}"
          Root = "${join(l.dir, 'containerd', 'runc')}"
          # cgroupfs: there is no systemd on these hosts.
          SystemdCgroup = false
`;
  await mkdir(l.containerdRoot, { recursive: true });
  await writeFile(l.containerdConfig, toml);
}

/**
 * A bridge with host-local addresses. containerd sets up `lo` itself. No IP
 * masquerading and no portmap: Pods need no route out of the host, and each
 * would add iptables rules to undo.
 */
export async function writeCniConfig(l: NodeLayout): Promise<void> {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'kjd-real-node',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE_NAME,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          // Keeps the address leases in our folder instead of /var/lib/cni/networks.
          dataDir: join(l.dir, 'cni', 'ipam'),
          ranges: [[{ subnet: POD_SUBNET, gateway: '10.88.0.1' }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
  await mkdir(l.cniConfDir, { recursive: true });
  await writeFile(join(l.cniConfDir, '10-kjd.conflist'), JSON.stringify(conflist, null, 2));
}

export interface KubeletConfigInput {
  readonly caCert: string;
  readonly serving: { readonly cert: string; readonly key: string };
  readonly port: number;
  readonly healthzPort: number;
}

export async function writeKubeletConfig(l: NodeLayout, k: KubeletConfigInput): Promise<void> {
  const endpoint = `unix://${l.socket}`;
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The hosts are cgroups v1 (hybrid); without this the kubelet refuses to start.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: endpoint,
    imageServiceEndpoint: endpoint,
    address: '0.0.0.0',
    port: k.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: k.healthzPort,
    tlsCertFile: k.serving.cert,
    tlsPrivateKeyFile: k.serving.key,
    authentication: {
      anonymous: { enabled: false },
      x509: { clientCAFile: k.caCert },
      webhook: { enabled: true },
    },
    // Clients still need a certificate from the cluster CA. With Webhook the
    // API server's kubelet-client identity (group kubeadm:cluster-admins) has
    // no binding here, so `pods/log` would be Forbidden.
    authorization: { mode: 'AlwaysAllow' },
    oomScoreAdj: 0,
    // true makes the kubelet exit on these hosts' kernel defaults; with false it
    // sets vm.overcommit_memory, kernel.panic(_on_oops), which host.ts restores.
    protectKernelDefaults: false,
    failSwapOn: false,
    // The hosts' rlimit nofile is 20000.
    maxOpenFiles: 20000,
    staticPodPath: '',
    // Local images cannot be pulled again: never garbage-collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
    },
    serializeImagePulls: false,
    registerNode: true,
    // Short: a Pod's end reaches the API server soon (kjd waits on it).
    nodeStatusUpdateFrequency: '10s',
  };
  await writeFile(l.kubeletConfig, stringify(config));
}
