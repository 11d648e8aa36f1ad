import type { KubeObject } from '../store/types.ts'
import type { ObservedContainer } from './types.ts'

/** Builders for the kubelet's tests: a stored pod and the runtime's containers. */

export const UID = 'uid-1'
export const T0 = Date.parse('2026-01-01T00:00:00Z')
export const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')

export function pod (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, status?: unknown): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', uid: UID, resourceVersion: '5', creationTimestamp: iso(T0), ...meta },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, nodeName: 'n1', containers: [{ name: 'web', image: 'nginx:1', imagePullPolicy: 'IfNotPresent' }], ...spec },
    ...(status !== undefined ? { status } : {})
  }
}

export function sandbox (extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: 'sb1', role: 'sandbox', podUid: UID, namespace: 'default', podName: 'web-1', containerName: '', attempt: 0, image: 'pause', imageID: 'sha256:pause',
    state: 'running', createdAt: iso(T0), startedAt: iso(T0), podIP: '172.17.0.2',
    ports: [{ containerName: 'web', containerPort: 80, protocol: 'TCP', hostIP: '10.0.0.1', hostPort: 32768 }],
    ...extra
  }
}

export function app (name: string, attempt: number, state: ObservedContainer['state'], extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${name}-${attempt}`, role: 'app', podUid: UID, namespace: 'default', podName: 'web-1', containerName: name, attempt, image: 'nginx:1', imageID: 'sha256:abc',
    state, createdAt: iso(T0 + attempt * 1000), startedAt: iso(T0 + attempt * 1000),
    ...(state === 'exited' ? { finishedAt: iso(T0 + attempt * 1000 + 500), exitCode: 1 } : {}),
    ...extra
  }
}
