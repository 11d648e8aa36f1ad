import type { Readable } from 'node:stream'
import type { ContainerConfig, ImageProblem, ObservedContainer, SandboxConfig } from '@shoal/core/kubelet/types.ts'
import type { EngineImage } from '@shoal/core/images/inventory.ts'

/**
 * What the kubelet needs of a container engine. Docker implements it
 * (docker.ts, through dockerode); a simulated runtime may stand in for scale
 * benchmarks only. Every container it makes carries labels naming the node,
 * the pod (uid, namespace, name) and the container (name, attempt), so an
 * agent tells its own containers from everyone else's, even with several
 * agents on one engine.
 */
export interface ContainerRuntime {
  /** Resolves when the engine answers; rejects with RuntimeDownError when it does not. */
  ping: () => Promise<void>
  /** The engine's own ID, stable across its restarts (Docker's `info` ID): agents that share an engine share its pod network. */
  engineID: () => Promise<string>
  /** This node's containers (by the node label), sandboxes and app containers, running or not; only pod `podUid`'s when given. */
  list: (podUid?: string) => Promise<ObservedContainer[]>
  /** One of this node's containers; undefined when it is gone. */
  inspect: (id: string) => Promise<ObservedContainer | undefined>
  /**
   * Make `image` present as the pull policy says (Always pulls, IfNotPresent
   * pulls only when absent, Never only checks). Resolves undefined when it is
   * there, or with the problem (ErrImagePull with the registry's message,
   * ErrImageNeverPull, InvalidImageName).
   */
  ensureImage: (image: string, policy: 'Always' | 'IfNotPresent' | 'Never', signal?: AbortSignal) => Promise<ImageProblem | undefined>
  /** The ID of the image `image` names in the engine (`:latest` when untagged); undefined when absent or not a valid name. */
  imageID: (image: string) => Promise<string | undefined>
  /** The engine's images, for the Node's status.images. */
  images: () => Promise<EngineImage[]>
  /** Give image `id` the name `image` (after it came from a peer, by ID). */
  tagImage: (id: string, image: string) => Promise<void>
  /** Take the name `image` off the engine (`docker rmi` without force: the image goes with its last name unless a container uses it, which keeps it). `in-use` when the engine kept the name for a container. */
  untagImage: (image: string) => Promise<'removed' | 'in-use' | 'absent'>
  /** Create and start the pod's sandbox; resolves with it running, its podIP and published ports filled in. */
  runSandbox: (config: SandboxConfig) => Promise<ObservedContainer>
  /** Create (not start) a container in the sandbox's namespaces; rejects with ContainerError (CreateContainerError). */
  createContainer: (sandboxId: string, config: ContainerConfig) => Promise<string>
  /** Start a created container; rejects with ContainerError (RunContainerError, the engine's message). */
  startContainer: (id: string) => Promise<void>
  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves once it has exited. A gone container is fine. */
  stopContainer: (id: string, graceSeconds: number) => Promise<void>
  /** Remove a container (force); a gone container is fine. */
  removeContainer: (id: string) => Promise<void>
  /**
   * A container's output as text, stdout and stderr interleaved as written:
   * the last `tailLines` (all when undefined), each line prefixed with its
   * RFC 3339 time when `timestamps`, then, when `follow`, what comes until the
   * container stops or `signal` aborts.
   */
  logs: (id: string, opts: LogOptions) => Promise<Readable>
  /** Run a command in a running container. */
  exec: (id: string, command: readonly string[], opts: ExecOptions) => Promise<ExecSession>
  /** Called when one of this node's containers starts, dies or is OOM-killed, so the kubelet acts at once instead of at its next resync. */
  onChange: (listener: (containerId: string) => void) => () => void
  /** Stop watching the engine's events. */
  close: () => Promise<void>
}

export interface LogOptions {
  readonly follow: boolean
  readonly tailLines?: number
  readonly timestamps: boolean
  readonly sinceSeconds?: number
  readonly signal?: AbortSignal
}

export interface ExecOptions {
  readonly stdin?: Readable
  readonly tty: boolean
  readonly signal?: AbortSignal
}

export interface ExecSession {
  readonly stdout: Readable
  /** Empty with a tty (everything comes on stdout). */
  readonly stderr: Readable
  /** The command's exit code, once it has ended. */
  readonly exitCode: Promise<number>
}

/** The engine does not answer (dockerd down, socket missing). */
export class RuntimeDownError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RuntimeDownError'
  }
}

/** A container the engine refused to create or start: the reason goes into the container's waiting state. */
export class ContainerError extends Error {
  readonly reason: 'CreateContainerError' | 'RunContainerError' | 'CreateContainerConfigError'
  constructor (reason: ContainerError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ContainerError'
    this.reason = reason
  }
}
