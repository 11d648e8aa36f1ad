import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { ContainerConfig, ObservedContainer, SandboxConfig } from '@shoal/core/kubelet/types.ts'
import { parseImageRef } from '@shoal/core/images/ref.ts'
import { ContainerError, type ContainerRuntime } from './runtime.ts'

/**
 * A hollow container runtime, as Kubernetes' kubemark runs hollow kubelets:
 * it keeps containers as records in memory and runs nothing. Every image
 * is present, a sandbox gets an address of its own at once, a started
 * container runs until it is stopped. It stands behind the same interface
 * as Docker, so the agent, kubelet and control plane above it are the real
 * ones: it lets one machine carry 30 agents and 3,000 pods for the scale
 * benchmark (`npm run bench -- scale`, `shoal agent --runtime hollow`), and
 * lets a test count the control plane's work without Docker's noise
 * (test/control-plane.test.ts). Nothing else: a pod on it serves nothing.
 */

const rfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const imageIdOf = (image: string): string => `sha256:${createHash('sha256').update(image).digest('hex')}`

export function createHollowRuntime (opts: { node: string }): ContainerRuntime {
  const containers = new Map<string, ObservedContainer>()
  const listeners = new Set<(id: string) => void>()
  // Each node its own /16 of 100.64.0.0/10, by its name: addresses unique enough for a benchmark, never routed.
  const block = createHash('sha256').update(opts.node).digest().readUInt16BE(0) % 64
  let serial = 0
  const changed = (id: string): void => { for (const l of listeners) queueMicrotask(() => { l(id) }) }
  const set = (id: string, patch: Partial<ObservedContainer>): void => {
    const c = containers.get(id)
    if (c === undefined) return
    containers.set(id, { ...c, ...patch })
    changed(id)
  }
  const nextId = (): string => createHash('sha256').update(`${opts.node}/${++serial}/${Date.now()}`).digest('hex')

  return {
    ping: async () => {},
    engineID: async () => `hollow-${opts.node}`,
    list: async podUid => [...containers.values()].filter(c => podUid === undefined || c.podUid === podUid),
    inspect: async id => containers.get(id),
    ensureImage: async image => 'invalid' in parseImageRef(image) ? { reason: 'InvalidImageName', message: `invalid image name "${image}"` } : undefined,
    imageID: async image => 'invalid' in parseImageRef(image) ? undefined : imageIdOf(image),
    images: async () => [],
    tagImage: async () => {},
    untagImage: async () => 'absent',
    runSandbox: async (config: SandboxConfig) => {
      const id = nextId()
      const n = ++serial
      const sandbox: ObservedContainer = {
        id,
        podUid: config.podUid,
        namespace: config.namespace,
        podName: config.podName,
        role: 'sandbox',
        containerName: '',
        attempt: 0,
        image: 'hollow/pause',
        imageID: imageIdOf('hollow/pause'),
        state: 'running',
        createdAt: rfc3339(),
        startedAt: rfc3339(),
        podIP: `100.${64 + block}.${(n >> 8) & 255}.${n & 255}`,
        ports: []
      }
      containers.set(id, sandbox)
      changed(id)
      return sandbox
    },
    createContainer: async (sandboxId: string, config: ContainerConfig) => {
      if (!containers.has(sandboxId)) throw new ContainerError('CreateContainerError', `no sandbox ${sandboxId}`)
      const id = nextId()
      containers.set(id, {
        id,
        podUid: config.podUid,
        namespace: config.namespace,
        podName: config.podName,
        role: 'app',
        containerName: config.containerName,
        attempt: config.attempt,
        image: config.image,
        imageID: imageIdOf(config.image),
        state: 'created',
        createdAt: rfc3339()
      })
      return id
    },
    startContainer: async id => {
      if (!containers.has(id)) throw new ContainerError('RunContainerError', `no container ${id}`)
      set(id, { state: 'running', startedAt: rfc3339() })
    },
    stopContainer: async id => {
      const c = containers.get(id)
      if (c === undefined || c.state !== 'running') return
      set(id, { state: 'exited', finishedAt: rfc3339(), exitCode: 0 })
    },
    removeContainer: async id => {
      containers.delete(id)
    },
    logs: async () => Readable.from([]),
    exec: async () => { throw new Error('the hollow runtime runs nothing: there is nothing to exec in') },
    onChange: listener => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    close: async () => { listeners.clear() }
  }
}
