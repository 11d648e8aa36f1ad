/**
 * The kubelet's vocabulary, shared by the pure logic here (what a pod's
 * containers should be, what its status is) and the agent's container
 * runtime (Docker, packages/agent/src/kubelet). Runtime-neutral: nothing
 * here names Docker.
 */

/** Which pod a container or a runtime request belongs to. */
export interface PodRef {
  readonly podUid: string
  readonly namespace: string
  readonly podName: string
}

/** A port of a pod's container published on the node: where a proxy on any node reaches it. */
export interface PublishedPort {
  readonly containerName: string
  /** The port's `name` in the pod spec, when it has one. */
  readonly name?: string
  readonly containerPort: number
  readonly protocol: 'TCP' | 'UDP'
  /** Where it is published: the node's advertised address, or --publish-address. */
  readonly hostIP: string
  /** The `hostPort` the spec asked for, else one the runtime picked. */
  readonly hostPort: number
}

/**
 * A container as the runtime reports it, with Shoal's labels read back. Every
 * pod has one `sandbox` (it holds the pod's network namespace and published
 * ports, and lives as long as the pod) and one `app` container per spec
 * container and attempt.
 */
export interface ObservedContainer extends PodRef {
  readonly id: string
  readonly role: 'sandbox' | 'app'
  /** The spec container's name; '' for the sandbox. */
  readonly containerName: string
  /** 0 for a container's first run, then one more per restart: Kubernetes' restartCount is the latest attempt. */
  readonly attempt: number
  /** The image as the spec named it. */
  readonly image: string
  /** The runtime's id of the image (`docker-pullable://…` in Kubernetes; here the image digest or id). */
  readonly imageID: string
  readonly state: 'created' | 'running' | 'exited'
  /** RFC 3339 times, to the second. */
  readonly createdAt: string
  readonly startedAt?: string
  readonly finishedAt?: string
  readonly exitCode?: number
  readonly oomKilled?: boolean
  /** The runtime's message when the container could not start (`exec: "nosuch": executable file not found in $PATH`). */
  readonly error?: string
  /** Sandbox only: the pod's IP, and the ports published for its containers. */
  readonly podIP?: string
  readonly ports?: readonly PublishedPort[]
}

/** What the runtime needs to start a pod's sandbox. */
export interface SandboxConfig extends PodRef {
  /** The pod's hostname (spec.hostname, else the pod name; at most 63 characters). */
  readonly hostname: string
  /** Where ports are published: the node's advertised address, or --publish-address. */
  readonly hostIP: string
  /** Every containerPort of every container; hostPort undefined: the runtime picks a free one. */
  readonly ports: ReadonlyArray<{ readonly containerName: string, readonly name?: string, readonly containerPort: number, readonly protocol: 'TCP' | 'UDP', readonly hostPort?: number }>
  /** The pod has more than one container (init containers count): they share the sandbox's IPC namespace (sharedIpcOf). */
  readonly sharedIpc: boolean
}

/** A bind mount of a pod volume (emptyDir: a directory the agent made for the pod; hostPath: the given path). */
export interface Mount {
  readonly source: string
  readonly target: string
  readonly readOnly: boolean
}

/** What the runtime needs to create one of a pod's containers, in the sandbox's network namespace. */
export interface ContainerConfig extends PodRef {
  readonly containerName: string
  readonly attempt: number
  readonly image: string
  /** The spec's `command`: replaces the image's entrypoint. */
  readonly command?: readonly string[]
  /** The spec's `args`: replaces the image's cmd. */
  readonly args?: readonly string[]
  /** `NAME=value`, with `$(VAR)` references already expanded as Kubernetes does. */
  readonly env: readonly string[]
  readonly workingDir?: string
  readonly mounts: readonly Mount[]
  /** emptyDir with `medium: Memory`: a tmpfs at this path, sized by sizeLimit if given. */
  readonly tmpfs: ReadonlyArray<{ readonly target: string, readonly sizeBytes?: number }>
  /** resources.limits: the runtime enforces them. */
  readonly cpuLimitMilli?: number
  readonly memoryLimitBytes?: number
  /** resources.requests: CPU shares (weight), as Kubernetes maps them. */
  readonly cpuRequestMilli?: number
  readonly tty: boolean
  readonly stdin: boolean
  /** spec.terminationGracePeriodSeconds, which a stop honours. */
  readonly stopTimeoutSeconds: number
  /** The container joins the sandbox's IPC namespace (the pod has others it shares it with); else it has its own. */
  readonly sharedIpc: boolean
}

/** Why an image is not there to run: the container's waiting reason and message. */
export interface ImageProblem {
  readonly reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName'
  readonly message: string
}
