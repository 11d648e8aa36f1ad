import type Docker from 'dockerode'
import type { ContainerConfig, ObservedContainer, PodRef, PublishedPort, SandboxConfig } from '@shoal/core/kubelet/types.ts'

/**
 * What Shoal writes into Docker and reads back: container names, labels,
 * create options, and the ObservedContainer rebuilt from `inspect`. The
 * agent keeps no other record of its containers, so everything the kubelet
 * needs after a restart lives in these labels and in Docker's own data.
 */

export const LABEL = Object.freeze({
  node: 'io.shoal.node',
  role: 'io.shoal.role',
  podUid: 'io.shoal.pod.uid',
  namespace: 'io.shoal.pod.namespace',
  podName: 'io.shoal.pod.name',
  containerName: 'io.shoal.container.name',
  attempt: 'io.shoal.container.attempt',
  image: 'io.shoal.image',
  /** App containers: the sandbox whose namespaces they join. */
  sandbox: 'io.shoal.sandbox.id',
  /** Sandbox: the ports asked for (JSON), so a restarted agent knows which container and name each belongs to. */
  ports: 'io.shoal.ports',
  /** Sandbox: where the ports are published. */
  hostIP: 'io.shoal.host-ip',
  /** Sandbox on Shoal's pod network: the pod's address from the node's range (the only record of it). */
  podIP: 'io.shoal.pod-ip'
})

type PortRequest = SandboxConfig['ports'][number]

/** Docker's container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. Kubernetes names fit already; anything else becomes '-'. */
function sanitize (part: string): string {
  const clean = part.replace(/[^a-zA-Z0-9_.-]/g, '-')
  return clean === '' ? '-' : clean
}

export function sandboxName (c: SandboxConfig): string {
  return ['shoal', 'POD', c.podName, c.namespace, c.podUid.slice(0, 8)].map(sanitize).join('_')
}

export function appName (c: ContainerConfig): string {
  return ['shoal', c.containerName, c.podName, c.namespace, c.podUid.slice(0, 8), String(c.attempt)].map(sanitize).join('_')
}

function podLabels (node: string, c: PodRef): Record<string, string> {
  return { [LABEL.node]: node, [LABEL.podUid]: c.podUid, [LABEL.namespace]: c.namespace, [LABEL.podName]: c.podName }
}

function portKey (p: { containerPort: number, protocol: 'TCP' | 'UDP' }): string {
  return `${p.containerPort}/${p.protocol.toLowerCase()}`
}

/**
 * The sandbox's create options. With `podIP` the sandbox is on Shoal's pod
 * network: Docker gives it no network (`none`) and publishes nothing; the
 * agent wires it in and forwards its host ports itself (agent/network).
 * Without, it is on Docker's default bridge and Docker publishes every
 * declared port (an agent driving an engine elsewhere, --pod-network=docker).
 */
export function sandboxCreateOptions (node: string, image: string, c: SandboxConfig, podIP?: string): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {}
  const bindings: Record<string, Array<{ HostIp: string, HostPort: string }>> = {}
  for (const p of podIP !== undefined ? [] : c.ports) {
    const key = portKey(p)
    exposed[key] = {}
    // Two containers of a pod cannot both listen on one port (they share the namespace): publish each once.
    bindings[key] ??= [{ HostIp: c.hostIP, HostPort: p.hostPort !== undefined ? String(p.hostPort) : '' }]
  }
  return {
    name: sandboxName(c),
    Image: image,
    Hostname: c.hostname,
    Labels: {
      ...podLabels(node, c),
      [LABEL.role]: 'sandbox',
      [LABEL.containerName]: '',
      [LABEL.attempt]: '0',
      [LABEL.image]: image,
      [LABEL.ports]: JSON.stringify(c.ports),
      [LABEL.hostIP]: c.hostIP,
      ...(podIP !== undefined ? { [LABEL.podIP]: podIP } : {})
    },
    // The pause program has no signal handlers and, as PID 1, ignores SIGTERM: stopping it means killing it.
    StopSignal: 'SIGKILL',
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: podIP !== undefined ? 'none' : 'bridge',
      PortBindings: bindings,
      IpcMode: c.sharedIpc ? 'shareable' : 'private',
      RestartPolicy: { Name: 'no' }
    }
  }
}

/** Kubernetes' MilliCPUToShares: requests → cgroup CPU weight, at least 2 (also for no request at all). */
export function milliCpuToShares (milli: number | undefined): number {
  if (milli === undefined || milli <= 0) return 2
  return Math.max(2, Math.floor(milli * 1024 / 1000))
}

export function appCreateOptions (node: string, sandboxId: string, c: ContainerConfig): Docker.ContainerCreateOptions {
  // Kubernetes semantics: `command` replaces the entrypoint (and drops the image's cmd), `args` replace the cmd.
  const entry: { Entrypoint?: string[], Cmd?: string[] } = {}
  if (c.command !== undefined && c.command.length > 0) {
    entry.Entrypoint = [...c.command]
    entry.Cmd = [...(c.args ?? [])]
  } else if (c.args !== undefined && c.args.length > 0) {
    entry.Cmd = [...c.args]
  }
  const tmpfs: Record<string, string> = {}
  for (const t of c.tmpfs) tmpfs[t.target] = t.sizeBytes !== undefined ? `size=${t.sizeBytes}` : ''
  const resources: Docker.HostConfig = { CpuShares: milliCpuToShares(c.cpuRequestMilli) }
  if (c.cpuLimitMilli !== undefined) resources.NanoCpus = c.cpuLimitMilli * 1_000_000
  if (c.memoryLimitBytes !== undefined) {
    resources.Memory = c.memoryLimitBytes
    resources.MemorySwap = c.memoryLimitBytes // no swap beyond the limit
  }
  return {
    name: appName(c),
    Image: c.image,
    Labels: {
      ...podLabels(node, c),
      [LABEL.role]: 'app',
      [LABEL.containerName]: c.containerName,
      [LABEL.attempt]: String(c.attempt),
      [LABEL.image]: c.image,
      [LABEL.sandbox]: sandboxId
    },
    ...entry,
    Env: [...c.env],
    WorkingDir: c.workingDir ?? '',
    Tty: c.tty,
    OpenStdin: c.stdin,
    StopTimeout: c.stopTimeoutSeconds,
    HostConfig: {
      NetworkMode: `container:${sandboxId}`,
      IpcMode: c.sharedIpc ? `container:${sandboxId}` : 'private',
      Binds: c.mounts.map(m => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      Tmpfs: tmpfs,
      RestartPolicy: { Name: 'no' },
      ...resources
    }
  }
}

/** Docker's RFC 3339 (nanoseconds) → RFC 3339 to the second; Docker's zero time → undefined. */
export function toSecond (time: string | undefined): string | undefined {
  if (time === undefined || time === '' || time.startsWith('0001-01-01')) return undefined
  const utc = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(time)
  if (utc !== null) return `${utc[1]}Z`
  const parsed = new Date(time)
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * The container as the kubelet sees it, or undefined when it is not Shoal's
 * (no role label). A container that failed to start stays `created` in
 * Docker, with an exit code and State.Error; like Kubernetes' dockershim we
 * call it exited, so the kubelet sees it terminated with the engine's message.
 */
export function toObserved (info: Docker.ContainerInspectInfo): ObservedContainer | undefined {
  const labels = info.Config.Labels ?? {}
  const role = labels[LABEL.role]
  if (role !== 'sandbox' && role !== 'app') return undefined
  const s = info.State
  const finishedAt = toSecond(s.FinishedAt)
  const state = s.Running || s.Paused || s.Restarting
    ? 'running'
    : s.Status === 'created' && finishedAt === undefined && s.ExitCode === 0 ? 'created' : 'exited'
  const observed: { -readonly [K in keyof ObservedContainer]: ObservedContainer[K] } = {
    id: info.Id,
    role,
    podUid: labels[LABEL.podUid] ?? '',
    namespace: labels[LABEL.namespace] ?? '',
    podName: labels[LABEL.podName] ?? '',
    containerName: labels[LABEL.containerName] ?? '',
    attempt: Number.parseInt(labels[LABEL.attempt] ?? '0', 10) || 0,
    image: labels[LABEL.image] ?? info.Config.Image,
    imageID: info.Image,
    state,
    createdAt: toSecond(info.Created) ?? ''
  }
  const startedAt = toSecond(s.StartedAt)
  if (startedAt !== undefined) observed.startedAt = startedAt
  if (state === 'exited') {
    if (finishedAt !== undefined) observed.finishedAt = finishedAt
    observed.exitCode = s.ExitCode
    observed.oomKilled = s.OOMKilled
  }
  if (s.Error !== '' && s.Error !== undefined) observed.error = s.Error
  if (role === 'sandbox') {
    const podIP = labels[LABEL.podIP]
    if (podIP !== undefined) {
      observed.podIP = podIP
      observed.ports = forwardedPorts(labels)
    } else {
      const net = info.NetworkSettings as typeof info.NetworkSettings & { IPAddress?: string }
      const ip = net.IPAddress !== undefined && net.IPAddress !== '' ? net.IPAddress : net.Networks?.bridge?.IPAddress
      if (ip !== undefined && ip !== '') observed.podIP = ip
      observed.ports = publishedPorts(labels, net.Ports as PortMap | undefined)
    }
  }
  return observed
}

type PortMap = Record<string, Array<{ HostIp: string, HostPort: string }> | null>

function portsAskedFor (labels: Record<string, string>): PortRequest[] {
  try {
    return JSON.parse(labels[LABEL.ports] ?? '[]') as PortRequest[]
  } catch {
    return []
  }
}

/** A sandbox on the pod network: the ports with a `hostPort`, which the agent forwards from the node's address. */
function forwardedPorts (labels: Record<string, string>): PublishedPort[] {
  const hostIP = labels[LABEL.hostIP] ?? ''
  return portsAskedFor(labels).flatMap(p => p.hostPort === undefined
    ? []
    : [{ containerName: p.containerName, ...(p.name !== undefined ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol, hostIP, hostPort: p.hostPort }])
}

/** The ports asked for (label) joined with where Docker published them; a port not (or no longer) published is left out. */
function publishedPorts (labels: Record<string, string>, bound: PortMap | undefined): PublishedPort[] {
  const wanted = portsAskedFor(labels)
  const hostIP = labels[LABEL.hostIP] ?? ''
  const out: PublishedPort[] = []
  for (const p of wanted) {
    const bindings = bound?.[portKey(p)] ?? []
    const binding = bindings.find(b => b.HostIp === hostIP) ?? bindings[0]
    const hostPort = Number.parseInt(binding?.HostPort ?? '', 10)
    if (!Number.isInteger(hostPort) || hostPort <= 0) continue
    const port: { -readonly [K in keyof PublishedPort]: PublishedPort[K] } = {
      containerName: p.containerName,
      containerPort: p.containerPort,
      protocol: p.protocol,
      hostIP: hostIP !== '' ? hostIP : (binding?.HostIp ?? ''),
      hostPort
    }
    if (p.name !== undefined) port.name = p.name
    out.push(port)
  }
  return out
}
