import type { KubeObject } from '../store/types.ts'
import { parseQuantity } from '../api/validate-format.ts'

/**
 * Typed views of the parts of a stored Pod the kubelet reads. The API has
 * defaulted and validated the pod before it was stored (api/defaults.ts,
 * api/validate-pod.ts), so these views trust its shape and only guard
 * against absent optional fields.
 */

export interface EnvVarSpec {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string }
    readonly resourceFieldRef?: { readonly resource: string }
    readonly configMapKeyRef?: { readonly name?: string, readonly key: string, readonly optional?: boolean }
    readonly secretKeyRef?: { readonly name?: string, readonly key: string, readonly optional?: boolean }
  }
}

export interface ContainerPortSpec {
  readonly name?: string
  readonly containerPort: number
  readonly protocol?: string
  readonly hostPort?: number
}

export interface VolumeMountSpec {
  readonly name: string
  readonly mountPath: string
  readonly readOnly?: boolean
  readonly subPath?: string
}

/** A probe as the pod spec has it: timing fields plus one handler (exec, httpGet, tcpSocket). */
export interface ProbeFields {
  readonly initialDelaySeconds?: number
  readonly periodSeconds?: number
  readonly timeoutSeconds?: number
  readonly successThreshold?: number
  readonly failureThreshold?: number
  readonly terminationGracePeriodSeconds?: number
  readonly [handler: string]: unknown
}

export interface ResourceList { readonly [name: string]: string | number | undefined }

export interface ContainerSpec {
  readonly name: string
  readonly image: string
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never'
  readonly command?: readonly string[]
  readonly args?: readonly string[]
  readonly workingDir?: string
  readonly env?: readonly EnvVarSpec[]
  readonly ports?: readonly ContainerPortSpec[]
  readonly volumeMounts?: readonly VolumeMountSpec[]
  readonly resources?: { readonly limits?: ResourceList, readonly requests?: ResourceList }
  readonly livenessProbe?: ProbeFields
  readonly readinessProbe?: ProbeFields
  readonly startupProbe?: ProbeFields
  readonly tty?: boolean
  readonly stdin?: boolean
}

export interface VolumeSpec {
  readonly name: string
  readonly emptyDir?: { readonly medium?: string, readonly sizeLimit?: string | number }
  readonly hostPath?: { readonly path: string, readonly type?: string }
  readonly [source: string]: unknown
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never'

export interface PodSpecView {
  readonly containers: readonly ContainerSpec[]
  readonly initContainers: readonly ContainerSpec[]
  readonly volumes: readonly VolumeSpec[]
  readonly restartPolicy: RestartPolicy
  readonly terminationGracePeriodSeconds: number
  readonly hostname?: string
  readonly nodeName?: string
  readonly serviceAccountName?: string
}

/** Kubernetes' default grace period (spec.terminationGracePeriodSeconds), in seconds. */
export const DEFAULT_GRACE_SECONDS = 30

/** The pod's spec with the defaults the API applies filled in again, in case a pod skipped admission (tests, old objects). */
export function podSpecOf (pod: KubeObject): PodSpecView {
  const s = (pod.spec ?? {}) as Partial<PodSpecView> & { restartPolicy?: string }
  const rp = s.restartPolicy
  return {
    containers: s.containers ?? [],
    initContainers: s.initContainers ?? [],
    volumes: s.volumes ?? [],
    restartPolicy: rp === 'OnFailure' || rp === 'Never' ? rp : 'Always',
    terminationGracePeriodSeconds: typeof s.terminationGracePeriodSeconds === 'number' ? s.terminationGracePeriodSeconds : DEFAULT_GRACE_SECONDS,
    ...(typeof s.hostname === 'string' && s.hostname !== '' ? { hostname: s.hostname } : {}),
    ...(typeof s.nodeName === 'string' ? { nodeName: s.nodeName } : {}),
    ...(typeof s.serviceAccountName === 'string' ? { serviceAccountName: s.serviceAccountName } : {})
  }
}

/** `name_namespace(uid)`: how Kubernetes' kubelet names a pod in messages (format.Pod). */
export function podDesc (pod: KubeObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid})`
}

/** Rounds up, ignoring floating-point noise (`0.29 * 1000` is 289.99999999999994, not more than 290). */
function roundUp (x: number): number {
  return Math.ceil(Number(x.toPrecision(12)))
}

/** CPU in millicores, rounded up as Kubernetes' Quantity.MilliValue does; undefined when absent or unparsable. */
export function cpuMilli (q: unknown): number | undefined {
  const n = q === undefined ? undefined : parseQuantity(q)
  return n === undefined ? undefined : roundUp(n * 1000)
}

/** Bytes, rounded up as Kubernetes' Quantity.Value does; undefined when absent or unparsable. */
export function bytesOf (q: unknown): number | undefined {
  const n = q === undefined ? undefined : parseQuantity(q)
  return n === undefined ? undefined : roundUp(n)
}

/** What a container asks the scheduler and the admission for: its requests, or its limits when it has no request (Kubernetes defaults requests to limits). */
export function containerRequests (c: ContainerSpec): { cpuMilli: number, memoryBytes: number } {
  const r = c.resources?.requests ?? {}
  const l = c.resources?.limits ?? {}
  return {
    cpuMilli: cpuMilli(r.cpu ?? l.cpu) ?? 0,
    memoryBytes: bytesOf(r.memory ?? l.memory) ?? 0
  }
}

/** RFC 3339 to the second, as Kubernetes' metav1.Time serializes (`2026-01-01T00:00:00Z`). */
export function rfc3339 (ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

/** Milliseconds of an RFC 3339 time; undefined when absent or unparsable. */
export function timeMs (t: string | undefined): number | undefined {
  if (t === undefined) return undefined
  const ms = Date.parse(t)
  return Number.isNaN(ms) ? undefined : ms
}
