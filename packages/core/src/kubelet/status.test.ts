import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { podStatus, qosClass } from './status.ts'
import type { PodStatus, PodStatusInput } from './status.ts'
import type { ObservedContainer } from './types.ts'
import { T0, app, iso, pod, sandbox } from './test-fixtures.ts'

const two = [{ name: 'web', image: 'nginx:1' }, { name: 'side', image: 'nginx:1' }]

function status (observed: ObservedContainer[], spec: Record<string, unknown> = {}, opts: Partial<PodStatusInput> = {}): PodStatus {
  return podStatus({ pod: pod(spec), observed, now: T0 + 60_000, hostIP: '10.0.0.1', ...opts })
}

const cond = (s: PodStatus, type: string): string | undefined => s.conditions.find(c => c.type === type)?.status

describe('podStatus: phase (Kubernetes getPhase)', () => {
  const cases: Array<[string, Record<string, unknown>, ObservedContainer[], string]> = [
    ['nothing yet', {}, [], 'Pending'],
    ['sandbox, container not started', {}, [sandbox()], 'Pending'],
    ['running', {}, [sandbox(), app('web', 0, 'running')], 'Running'],
    ['one running, one never started', { containers: two }, [sandbox(), app('web', 0, 'running')], 'Pending'],
    ['one running, one exited 0 (Always)', { containers: two }, [sandbox(), app('web', 0, 'running'), app('side', 0, 'exited', { exitCode: 0 })], 'Running'],
    ['Always, exited 1: restarting', {}, [sandbox(), app('web', 0, 'exited')], 'Running'],
    ['Always, exited 0: restarting', {}, [sandbox(), app('web', 0, 'exited', { exitCode: 0 })], 'Running'],
    ['OnFailure, exited 1: restarting', { restartPolicy: 'OnFailure' }, [sandbox(), app('web', 0, 'exited')], 'Running'],
    ['OnFailure, all exited 0', { restartPolicy: 'OnFailure', containers: two }, [sandbox(), app('web', 0, 'exited', { exitCode: 0 }), app('side', 0, 'exited', { exitCode: 0 })], 'Succeeded'],
    ['Never, exited 0', { restartPolicy: 'Never' }, [sandbox({ state: 'exited' }), app('web', 0, 'exited', { exitCode: 0 })], 'Succeeded'],
    ['Never, exited 1', { restartPolicy: 'Never' }, [sandbox(), app('web', 0, 'exited')], 'Failed'],
    ['Never, one 0 one 1', { restartPolicy: 'Never', containers: two }, [sandbox(), app('web', 0, 'exited', { exitCode: 0 }), app('side', 0, 'exited')], 'Failed'],
    ['Never, one running one failed', { restartPolicy: 'Never', containers: two }, [sandbox(), app('web', 0, 'running'), app('side', 0, 'exited')], 'Running']
  ]
  for (const [name, spec, observed, phase] of cases) it(`${name} → ${phase}`, () => assert.equal(status(observed, spec).phase, phase))

  it('a deleted pod with nothing running is Failed unless every container succeeded', () => {
    const deleted = (code: number): string => podStatus({ pod: pod({}, { deletionTimestamp: iso(T0) }), observed: [app('web', 0, 'exited', { exitCode: code })], now: T0, hostIP: 'h' }).phase
    assert.equal(deleted(137), 'Failed')
    assert.equal(deleted(0), 'Succeeded')
  })
  it('a pod rejected at admission keeps its status whole', () => {
    const rejected = { phase: 'Failed', reason: 'OutOfmemory', message: 'Pod Node didn\'t have enough resource: memory', conditions: [] }
    assert.equal(podStatus({ pod: pod({}, {}, rejected), observed: [], now: T0, hostIP: 'h' }), rejected)
  })
})

describe('podStatus: container statuses', () => {
  it('a running container: running state, ready, started, ids, lastState of the previous attempt', () => {
    const s = status([sandbox(), app('web', 0, 'exited', { exitCode: 137, oomKilled: true }), app('web', 1, 'running')])
    assert.deepEqual(s.containerStatuses, [{
      name: 'web',
      state: { running: { startedAt: iso(T0 + 1000) } },
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: iso(T0), finishedAt: iso(T0 + 500), containerID: 'docker://web-0' } },
      ready: true, started: true, restartCount: 1, image: 'nginx:1', imageID: 'sha256:abc', containerID: 'docker://web-1'
    }])
  })
  it('before the first start: waiting ContainerCreating, no container id', () => {
    const [c] = status([]).containerStatuses
    assert.deepEqual(c, { name: 'web', state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, ready: false, started: false, restartCount: 0, image: 'nginx:1', imageID: '' })
  })
  it('CrashLoopBackOff: waiting with Kubernetes\' message, lastState the attempt that failed', () => {
    const observed = [sandbox(), app('web', 1, 'exited'), app('web', 2, 'exited', { exitCode: 2 })]
    const memory = { backoff: { web: { delayMs: 20_000, lastUpdateMs: T0 + 2000, attempt: 2 } } }
    const [c] = status(observed, {}, { memory, now: T0 + 5000 }).containerStatuses
    assert.deepEqual(c?.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=web pod=web-1_default(uid-1)' } })
    assert.deepEqual(c?.lastState, { terminated: { exitCode: 2, reason: 'Error', startedAt: iso(T0 + 2000), finishedAt: iso(T0 + 2500), containerID: 'docker://web-2' } })
    assert.equal(c?.restartCount, 2)
  })
  it('a completed container: terminated Completed; sorted by name', () => {
    const s = status([sandbox(), app('web', 0, 'running'), app('side', 0, 'exited', { exitCode: 0 })], { containers: two })
    assert.deepEqual(s.containerStatuses.map(c => c.name), ['side', 'web'])
    assert.equal((s.containerStatuses[0]?.state as { terminated: { reason: string } }).terminated.reason, 'Completed')
  })
  it('image pull problems show as waiting reasons', () => {
    const problem = { reason: 'ErrImagePull' as const, message: 'pull access denied' }
    const s = status([sandbox()], {}, { now: T0 + 1000, memory: { imageProblems: { web: { image: 'nginx:1', problem, atMs: T0, failures: 1 } } } })
    assert.deepEqual(s.containerStatuses[0]?.state, { waiting: { reason: 'ErrImagePull', message: 'pull access denied' } })
  })
})

describe('podStatus: conditions, IPs, ports', () => {
  const probe = { readinessProbe: { httpGet: { port: 80 } } }
  const spec = { containers: [{ name: 'web', image: 'nginx:1', ...probe }] }
  it('a container with a readiness probe is not ready until it succeeds', () => {
    const s = status([sandbox(), app('web', 0, 'running')], spec)
    assert.equal(s.containerStatuses[0]?.ready, false)
    assert.deepEqual(s.conditions.find(c => c.type === 'Ready'), { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [web]', lastTransitionTime: iso(T0 + 60_000) })
    const ready = status([sandbox(), app('web', 0, 'running')], spec, { memory: { probes: { web: { containerId: 'web-0', readiness: { successes: 1, failures: 0, verdict: 'success' } } } } })
    assert.equal(cond(ready, 'Ready'), 'True')
    assert.equal(cond(ready, 'ContainersReady'), 'True')
  })
  it('keeps transition times and startTime from the previous status while unchanged', () => {
    const observed = [sandbox(), app('web', 0, 'running')]
    const first = status(observed, {}, { now: T0 })
    const later = status(observed, {}, { now: T0 + 3_600_000, previousStatus: first })
    assert.deepEqual(later, first)
    const notReady = status([sandbox(), app('web', 0, 'exited')], {}, { now: T0 + 7_200_000, previousStatus: first })
    assert.equal(notReady.conditions.find(c => c.type === 'Ready')?.lastTransitionTime, iso(T0 + 7_200_000))
    assert.equal(notReady.conditions.find(c => c.type === 'Initialized')?.lastTransitionTime, iso(T0))
    assert.equal(notReady.startTime, iso(T0))
  })
  it('IPs, conditions in describe order, published ports, QoS', () => {
    const s = status([sandbox(), app('web', 0, 'running')])
    assert.deepEqual(s.conditions.map(c => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'])
    assert.equal(s.podIP, '172.17.0.2')
    assert.deepEqual(s.podIPs, [{ ip: '172.17.0.2' }])
    assert.deepEqual(s.hostIPs, [{ ip: '10.0.0.1' }])
    assert.deepEqual(s.hostPorts, [{ containerName: 'web', containerPort: 80, protocol: 'TCP', hostIP: '10.0.0.1', hostPort: 32768 }])
    assert.equal(s.qosClass, 'BestEffort')
    const none = status([])
    assert.equal(none.podIP, undefined)
    assert.equal(cond(none, 'PodReadyToStartContainers'), 'False')
  })
  it('QoS classes', () => {
    const c = (resources: unknown): { name: string, image: string, resources: never } => ({ name: 'c', image: 'x', resources: resources as never })
    assert.equal(qosClass([c({ limits: { cpu: '1', memory: '1Gi' } })]), 'Guaranteed')
    assert.equal(qosClass([c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } })]), 'Guaranteed')
    assert.equal(qosClass([c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } })]), 'Burstable')
    assert.equal(qosClass([c({ requests: { memory: '1Gi' } })]), 'Burstable')
    assert.equal(qosClass([c({})]), 'BestEffort')
  })
})
