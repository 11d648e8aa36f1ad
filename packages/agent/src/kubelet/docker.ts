import { PassThrough, type Duplex, type Readable } from 'node:stream'
import Docker from 'dockerode'
import type { ContainerConfig, ImageProblem, ObservedContainer, SandboxConfig } from '@shoal/core/kubelet/types.ts'
import type { EngineImage } from '@shoal/core/images/inventory.ts'
import type { Logger } from '@shoal/core/logger.ts'
import { ContainerError, RuntimeDownError, type ContainerRuntime, type ExecOptions, type ExecSession, type LogOptions } from './runtime.ts'
import { appCreateOptions, LABEL, sandboxCreateOptions, toObserved } from './docker-spec.ts'
import { createEventWatch } from './docker-events.ts'
import { createDemuxer, followProgress } from './docker-stream.ts'
import { parseImageRef, withDefaultTag } from '@shoal/core/images/ref.ts'
import { ensurePauseImage, PAUSE_IMAGE } from './pause-image.ts'
import type { PodNetwork } from '../network/pod-network.ts'

export interface DockerRuntimeInit {
  /** This agent's node name: the `io.shoal.node` label on everything it creates, and what list() filters by. */
  readonly node: string
  /** dockerd's socket (default: DOCKER_HOST when it is unix://, else /var/run/docker.sock). */
  readonly socketPath?: string
  readonly log: Logger
  /** How long ping waits for an answer (ms). */
  readonly pingTimeoutMs?: number
  /** A pull that reports no progress for this long is abandoned (ms). */
  readonly pullIdleMs?: number
  /** The sandbox image, built locally when missing. */
  readonly pauseImage?: string
  /** Shoal's pod network: sandboxes get no Docker network and are wired in by it. Absent: Docker's default bridge, ports published. */
  readonly network?: PodNetwork
}

const DEFAULTS = Object.freeze({
  pingTimeoutMs: 5_000, // dockerd answers /_ping in milliseconds when alive
  pullIdleMs: 60_000, // registries send progress every few seconds while a layer downloads
  inspectConcurrency: 16, // list() inspects each container; bounded so a busy node does not open hundreds of sockets
  eventsRetryMinMs: 500, // reconnect delay after the event stream breaks, doubling…
  eventsRetryMaxMs: 10_000 // …up to this
})

/** System errors meaning "nobody answers on the socket". */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ENOTSOCK'])

interface EngineError { statusCode?: number, code?: string, json?: { message?: string }, message?: string }

function statusOf (err: unknown): number | undefined {
  return (err as EngineError | undefined)?.statusCode
}

/** Docker's own message (`json.message`), without dockerode's `(HTTP code 400) unexpected - ` prefix. */
function engineMessage (err: unknown): string {
  const e = err as EngineError | undefined
  const raw = e?.json?.message ?? e?.message ?? String(err)
  return raw.trim()
}

function defaultSocketPath (): string {
  const host = process.env.DOCKER_HOST
  return host?.startsWith('unix://') === true ? host.slice('unix://'.length) : '/var/run/docker.sock'
}

export function createDockerRuntime (init: DockerRuntimeInit): ContainerRuntime {
  const cfg = { ...DEFAULTS, ...init, socketPath: init.socketPath ?? defaultSocketPath(), pauseImage: init.pauseImage ?? PAUSE_IMAGE }
  const { node, log } = cfg
  const docker = new Docker({ socketPath: cfg.socketPath })
  const nodeFilter = `${LABEL.node}=${node}`

  const down = (err: unknown): RuntimeDownError | undefined => {
    const code = (err as EngineError | undefined)?.code
    if (code === undefined || !DOWN_CODES.has(code)) return undefined
    return new RuntimeDownError(`Docker engine at unix://${cfg.socketPath} does not answer: ${engineMessage(err)}`, { cause: err })
  }
  /** Rethrow connection failures as RuntimeDownError, anything else through `other`. */
  const rethrow = (err: unknown, other: (err: unknown) => Error = e => e as Error): never => {
    throw down(err) ?? other(err)
  }

  let pauseReady: Promise<void> | undefined
  const ensurePause = async (): Promise<void> => {
    pauseReady ??= ensurePauseImage(docker, cfg.pauseImage).then(built => {
      if (built) log.info({ image: cfg.pauseImage }, 'built the sandbox image')
    })
    try {
      await pauseReady
    } catch (err) {
      pauseReady = undefined
      rethrow(err, e => new ContainerError('CreateContainerError', `cannot build the sandbox image ${cfg.pauseImage}: ${engineMessage(e)}`, { cause: e }))
    }
  }

  const inspect = async (id: string): Promise<ObservedContainer | undefined> => {
    let info: Docker.ContainerInspectInfo
    try {
      info = await docker.getContainer(id).inspect()
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      return rethrow(err)
    }
    if (info.Config.Labels?.[LABEL.node] !== node) return undefined
    const observed = toObserved(info)
    if (observed?.role === 'sandbox' && observed.podIP !== undefined && info.Config.Labels[LABEL.podIP] === observed.podIP && !sandboxIPs.has(observed.id)) {
      sandboxIPs.set(observed.id, { ip: observed.podIP, made: 0 })
    }
    return observed
  }
  /**
   * The pod-network address of each sandbox seen or made, so removing one
   * frees its address; `made` numbers the sandboxes this runtime created
   * (0: found), so a list that began before one was made does not free it.
   */
  const sandboxIPs = new Map<string, { ip: string, made: number }>()
  let made = 0

  const list = async (podUid?: string): Promise<ObservedContainer[]> => {
    const madeBefore = made
    let summaries: Docker.ContainerInfo[]
    try {
      summaries = await docker.listContainers({ all: true, filters: { label: [nodeFilter, ...(podUid !== undefined ? [`${LABEL.podUid}=${podUid}`] : [])] } })
    } catch (err) {
      return rethrow(err)
    }
    const out: ObservedContainer[] = []
    const ids = summaries.map(s => s.Id)
    for (let i = 0; i < ids.length; i += cfg.inspectConcurrency) {
      const batch = await Promise.all(ids.slice(i, i + cfg.inspectConcurrency).map(inspect))
      for (const c of batch) if (c !== undefined) out.push(c)
    }
    if (podUid === undefined && cfg.network !== undefined) await adoptNetwork(cfg.network, out, madeBefore)
    return out
  }

  /**
   * After a full list: the addresses of the sandboxes that exist are held
   * (those listed, and those made since the list began), the others freed;
   * running ones forward their host ports again (after a restart).
   */
  const adoptNetwork = async (network: PodNetwork, all: readonly ObservedContainer[], madeBefore: number): Promise<void> => {
    const sandboxes = all.filter(c => c.role === 'sandbox' && c.podIP !== undefined && sandboxIPs.has(c.id))
    const listed = new Set(sandboxes.map(c => c.id))
    for (const [id, s] of [...sandboxIPs]) if (!listed.has(id) && s.made <= madeBefore) sandboxIPs.delete(id)
    network.adopt([...sandboxIPs.values()].map(s => s.ip))
    for (const c of sandboxes) {
      if (c.state !== 'running') network.hostPorts.close(c.podIP!)
      else if ((c.ports ?? []).length > 0) {
        await network.hostPorts.open(c.podIP!, c.ports!).catch((err: Error) => log.warn({ pod: `${c.namespace}/${c.podName}`, err: err.message }, 'cannot forward the pod\'s host ports again'))
      }
    }
  }

  const pull = async (image: string, signal?: AbortSignal): Promise<ImageProblem | undefined> => {
    const controller = new AbortController()
    const onAbort = (): void => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const stream = await docker.pull(image, { abortSignal: controller.signal })
      await followProgress(stream, { idleMs: cfg.pullIdleMs })
      log.info({ image }, 'pulled image')
      return undefined
    } catch (err) {
      // Cancelling resets the connection: check that before taking a reset for a dead engine.
      if (signal?.aborted !== true) {
        const d = down(err)
        if (d !== undefined) throw d
      }
      const message = signal?.aborted === true ? 'pull cancelled' : engineMessage(err)
      log.warn({ image, err: message }, 'image pull failed')
      return { reason: 'ErrImagePull', message: `Failed to pull image "${image}": ${message}` }
    } finally {
      controller.abort()
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** The ID of the image `ref` (a full reference, tag or digest included) names; undefined when the engine lacks it. */
  const idOf = async (ref: string): Promise<string | undefined> => {
    try {
      return (await docker.getImage(ref).inspect()).Id
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      return rethrow(err)
    }
  }

  const imageID = async (image: string): Promise<string | undefined> => {
    const ref = parseImageRef(image)
    return 'invalid' in ref ? undefined : await idOf(withDefaultTag(ref))
  }

  const images = async (): Promise<EngineImage[]> => {
    try {
      return (await docker.listImages()).map(i => ({ id: i.Id, tags: i.RepoTags ?? [], sizeBytes: i.Size }))
    } catch (err) {
      return rethrow(err)
    }
  }

  const tagImage = async (id: string, image: string): Promise<void> => {
    const ref = parseImageRef(image)
    if ('invalid' in ref || ref.digest !== undefined) throw new Error(`cannot tag an image as ${JSON.stringify(image)}`)
    try {
      await docker.getImage(id).tag({ repo: ref.name, tag: ref.tag ?? 'latest' })
    } catch (err) {
      return rethrow(err)
    }
  }

  const untagImage = async (image: string): Promise<'removed' | 'in-use' | 'absent'> => {
    const ref = parseImageRef(image)
    if ('invalid' in ref || ref.digest !== undefined) throw new Error(`cannot untag an image named ${JSON.stringify(image)}`)
    try {
      await docker.getImage(withDefaultTag(ref)).remove()
      return 'removed'
    } catch (err) {
      if (statusOf(err) === 404) return 'absent'
      // "conflict: unable to remove repository reference … container … is using its referenced image".
      if (statusOf(err) === 409) return 'in-use'
      return rethrow(err)
    }
  }

  const ensureImage: ContainerRuntime['ensureImage'] = async (image, policy, signal) => {
    const ref = parseImageRef(image)
    if ('invalid' in ref) return { reason: 'InvalidImageName', message: ref.invalid }
    const full = withDefaultTag(ref)
    if (policy !== 'Always' && await idOf(full) !== undefined) return undefined
    if (policy === 'Never') {
      return { reason: 'ErrImageNeverPull', message: `Container image "${image}" is not present with pull policy of Never` }
    }
    return await pull(full, signal)
  }

  const start = async (id: string): Promise<void> => {
    try {
      await docker.getContainer(id).start()
    } catch (err) {
      if (statusOf(err) === 304) return // already running
      rethrow(err, e => new ContainerError('RunContainerError', engineMessage(e), { cause: e }))
    }
  }

  const remove = async (id: string): Promise<void> => {
    try {
      await docker.getContainer(id).remove({ force: true, v: true })
    } catch (err) {
      // 404: gone already; 409: someone else is removing it.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) rethrow(err)
      if (statusOf(err) === 409) return
    }
    const s = sandboxIPs.get(id)
    if (s !== undefined) {
      sandboxIPs.delete(id)
      cfg.network?.release(s.ip)
    }
  }

  const create = async (options: Docker.ContainerCreateOptions): Promise<string> => {
    try {
      return (await docker.createContainer(options)).id
    } catch (err) {
      return rethrow(err, e => new ContainerError('CreateContainerError', engineMessage(e), { cause: e }))
    }
  }

  const runSandbox = async (config: SandboxConfig): Promise<ObservedContainer> => {
    await ensurePause()
    const network = cfg.network
    let podIP: string | undefined
    await network?.settled()
    try {
      podIP = network?.allocate()
    } catch (err) {
      throw new ContainerError('CreateContainerError', (err as Error).message, { cause: err })
    }
    const options = sandboxCreateOptions(node, cfg.pauseImage, config, podIP)
    let id: string
    try {
      id = await create(options)
    } catch (err) {
      if (podIP !== undefined) network?.release(podIP)
      // A sandbox of this pod already has the name: ours and running → it is the answer; ours and dead → replace it.
      if (!(err instanceof ContainerError) || statusOf(err.cause) !== 409 || options.name === undefined) throw err
      const existing = await inspect(options.name)
      if (existing === undefined || existing.podUid !== config.podUid) throw err
      if (existing.state === 'running') return existing
      await remove(existing.id)
      return await runSandbox(config)
    }
    if (podIP !== undefined) sandboxIPs.set(id, { ip: podIP, made: ++made })
    try {
      await start(id)
      if (network !== undefined && podIP !== undefined) {
        const pid = (await docker.getContainer(id).inspect()).State.Pid
        await network.attach(pid, podIP)
        const forwarded = (await inspect(id))?.ports ?? []
        if (forwarded.length > 0) await network.hostPorts.open(podIP, forwarded)
      }
    } catch (err) {
      await remove(id).catch(() => {})
      if (err instanceof ContainerError || err instanceof RuntimeDownError) throw err
      throw new ContainerError('RunContainerError', (err as Error).message, { cause: err })
    }
    const observed = await inspect(id)
    if (observed === undefined) throw new ContainerError('RunContainerError', `sandbox ${options.name ?? id} vanished after start`)
    log.info({ pod: `${config.namespace}/${config.podName}`, id: id.slice(0, 12), podIP: observed.podIP }, 'sandbox running')
    return observed
  }

  const stopContainer = async (id: string, graceSeconds: number): Promise<void> => {
    try {
      await docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) })
    } catch (err) {
      if (statusOf(err) === 304 || statusOf(err) === 404) return
      rethrow(err)
    }
  }

  const logs = async (id: string, opts: LogOptions): Promise<Readable> => {
    const out = new PassThrough()
    if (opts.signal?.aborted === true) { out.end(); return out }
    const container = docker.getContainer(id)
    let tty: boolean
    try {
      tty = (await container.inspect()).Config.Tty
    } catch (err) {
      return rethrow(err, e => new Error(engineMessage(e), { cause: e }))
    }
    const controller = new AbortController()
    const stop = (): void => { controller.abort(); if (!out.writableEnded) out.end() }
    opts.signal?.addEventListener('abort', stop, { once: true })
    out.on('close', () => { controller.abort(); opts.signal?.removeEventListener('abort', stop) })
    const write = tty ? (chunk: Buffer) => out.write(chunk) : createDemuxer((_stream, payload) => out.write(payload))
    const query = {
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps,
      ...(opts.tailLines !== undefined ? { tail: opts.tailLines } : {}),
      ...(opts.sinceSeconds !== undefined ? { since: Math.floor(Date.now() / 1000) - opts.sinceSeconds } : {}),
      abortSignal: controller.signal
    }
    let source: Buffer | NodeJS.ReadableStream
    try {
      source = opts.follow
        ? await container.logs({ ...query, follow: true })
        : await container.logs({ ...query, follow: false })
    } catch (err) {
      if (controller.signal.aborted) { stop(); return out }
      return rethrow(err, e => new Error(engineMessage(e), { cause: e }))
    }
    if (Buffer.isBuffer(source)) {
      write(source)
      out.end()
      return out
    }
    const stream = source as Readable
    stream.on('data', (chunk: Buffer) => {
      write(chunk)
      if (out.writableNeedDrain) { stream.pause(); out.once('drain', () => stream.resume()) }
    })
    stream.on('end', () => { if (!out.writableEnded) out.end() })
    stream.on('error', err => {
      if (controller.signal.aborted) stop()
      else out.destroy(err)
    })
    return out
  }

  const exec = async (id: string, command: readonly string[], opts: ExecOptions): Promise<ExecSession> => {
    const withStdin = opts.stdin !== undefined
    let socket: Duplex
    let execution: Docker.Exec
    try {
      execution = await docker.getContainer(id).exec({
        Cmd: [...command],
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: opts.tty
      })
      socket = await execution.start({ hijack: true, stdin: withStdin, Tty: opts.tty }) as Duplex
    } catch (err) {
      return rethrow(err, e => new Error(engineMessage(e), { cause: e }))
    }
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const write = opts.tty
      ? (chunk: Buffer) => stdout.write(chunk)
      : createDemuxer((stream, payload) => (stream === 2 ? stderr : stdout).write(payload))
    socket.on('data', write)
    const ended = new Promise<void>(resolve => {
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        stdout.end()
        stderr.end()
        resolve()
      }
      socket.on('end', finish)
      socket.on('close', finish)
      socket.on('error', finish)
    })
    if (opts.stdin !== undefined) {
      // At the end of stdin, pipe half-closes the socket: the command sees end of input, we keep reading its output.
      opts.stdin.pipe(socket)
      opts.stdin.on('error', () => socket.end())
    }
    const abort = (): void => { socket.destroy() }
    opts.signal?.addEventListener('abort', abort, { once: true })
    const exitCode = ended.then(async () => {
      opts.signal?.removeEventListener('abort', abort)
      // The stream ends when the process does; the engine records the exit code a moment later.
      for (let tries = 0; ; tries++) {
        if (opts.signal?.aborted === true) throw new Error(`exec in ${id.slice(0, 12)} aborted`)
        const info = await execution.inspect()
        if (!info.Running && info.ExitCode !== null) return info.ExitCode
        if (tries >= 100) throw new Error(`exec in ${id.slice(0, 12)} ended without an exit code`)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    })
    exitCode.catch(() => {}) // the caller may never ask
    return { stdout, stderr, exitCode }
  }

  const events = createEventWatch(docker, nodeFilter, log, cfg)

  return {
    ping: async () => {
      try {
        // dockerode's typings omit ping's options; it does honour abortSignal.
        const ping = docker.ping as (this: Docker, opts: { abortSignal: AbortSignal }) => Promise<unknown>
        await ping.call(docker, { abortSignal: AbortSignal.timeout(cfg.pingTimeoutMs) })
      } catch (err) {
        const reason = (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError'
          ? `no answer within ${cfg.pingTimeoutMs} ms`
          : engineMessage(err)
        throw new RuntimeDownError(`Docker engine at unix://${cfg.socketPath} does not answer: ${reason}`, { cause: err })
      }
    },
    engineID: async () => {
      try {
        return String((await docker.info() as { ID?: unknown }).ID ?? '')
      } catch (err) {
        return rethrow(err)
      }
    },
    list,
    inspect,
    ensureImage,
    imageID,
    images,
    tagImage,
    untagImage,
    runSandbox,
    createContainer: async (sandboxId: string, config: ContainerConfig) => await create(appCreateOptions(node, sandboxId, config)),
    startContainer: start,
    stopContainer,
    removeContainer: remove,
    logs,
    exec,
    onChange: events.subscribe,
    close: events.close
  }
}
