import { join } from 'node:path'

/**
 * Names, addresses and paths of a lab. Everything the lab makes outside its
 * directory starts with `shoal-lab` (network namespaces, links, the cgroup
 * tree), so cleanup finds it by name even when no state file survived.
 */
export const LAB_PREFIX = 'shoal-lab'
/** The lab's L2 segment; the root namespace is on it as GATEWAY, so the test process reaches every host. */
export const BRIDGE = 'shoal-lab0'
/** Where `partition` moves a minority's links: a bridge without a root-namespace address. */
export const SPLIT_BRIDGE = 'shoal-lab1'
export const GATEWAY = '10.99.0.1'
export const PREFIX_LEN = 24
/** Hosts are 10.99.0.11 … 10.99.0.(10+MAX_HOSTS); link names stay within IFNAMSIZ (15). */
export const MAX_HOSTS = 40
/** Where network namespaces live for `ip netns` and `nsenter --net=`. */
export const NETNS_DIR = '/var/run/netns'

export function defaultLabDir (): string {
  return process.env.SHOAL_LAB_DIR ?? '/tmp/shoal-lab'
}

/** Everything about host K (1-based) that follows from the lab dir and K alone. */
export interface HostLayout {
  readonly k: number
  /** Node name of its agent. */
  readonly name: string
  readonly ip: string
  /** Network namespace name, and the root-side name of its veth. */
  readonly netns: string
  readonly netnsPath: string
  readonly veth: string
  /** This host's cgroup, relative to a hierarchy's root. */
  readonly cgroup: string
  /** The Docker bridge inside the host (its own namespace, but distinct per host to keep traces readable). */
  readonly dockerBip: string
  readonly dir: string
  readonly dockerData: string
  /** Volatile, as /run is on a real machine: a power cut wipes it. */
  readonly dockerExec: string
  readonly dockerSock: string
  readonly dockerPid: string
  readonly daemonJson: string
  readonly containerdConfig: string
  readonly containerdSock: string
  readonly agentData: string
  readonly kubeconfig: string
  readonly agentLog: string
  readonly dockerdLog: string
  readonly containerdLog: string
}

export function hostLayout (labDir: string, k: number): HostLayout {
  if (!Number.isInteger(k) || k < 1 || k > MAX_HOSTS) throw new Error(`host number must be 1 … ${MAX_HOSTS}, not ${k}`)
  const dir = join(labDir, `h${k}`)
  const dockerExec = join(dir, 'docker-exec')
  const agentData = join(dir, 'agent-data')
  return {
    k,
    name: `h${k}`,
    ip: `10.99.0.${10 + k}`,
    netns: `${LAB_PREFIX}-h${k}`,
    netnsPath: join(NETNS_DIR, `${LAB_PREFIX}-h${k}`),
    veth: `${LAB_PREFIX}-h${k}`,
    cgroup: `${LAB_PREFIX}/h${k}`,
    dockerBip: `172.31.${k}.1/24`,
    dir,
    dockerData: join(dir, 'docker-data'),
    dockerExec,
    dockerSock: join(dir, 'docker.sock'),
    dockerPid: join(dir, 'docker.pid'),
    daemonJson: join(dir, 'daemon.json'),
    containerdConfig: join(dir, 'containerd.toml'),
    containerdSock: join(dockerExec, 'containerd', 'containerd.sock'),
    agentData,
    kubeconfig: join(agentData, 'kubeconfig'),
    agentLog: join(dir, 'agent.log'),
    dockerdLog: join(dir, 'dockerd.log'),
    containerdLog: join(dir, 'containerd.log')
  }
}
