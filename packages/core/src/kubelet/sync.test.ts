import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { orphans, planPod } from './sync.ts'
import type { PodAction, PodPlan } from './sync.ts'
import type { PodInput, PodMemory } from './decide.ts'
import type { ObservedContainer } from './types.ts'
import { T0, UID, app, iso, pod, sandbox } from './test-fixtures.ts'

function plan (observed: ObservedContainer[], opts: Partial<PodInput> = {}): PodPlan {
  return planPod({ pod: pod(), observed, now: T0 + 60_000, hostIP: '10.0.0.1', ...opts })
}

/** A compact view of actions: `kind:detail`. */
function kinds (actions: readonly PodAction[]): string[] {
  return actions.map(a => {
    switch (a.kind) {
      case 'runSandbox': return 'runSandbox'
      case 'stopContainer': return `stop:${a.id}:${a.graceSeconds}:${a.reason}`
      case 'removeContainer': return `remove:${a.id}`
      case 'ensureImage': return `ensureImage:${a.image}:${a.policy}`
      case 'startContainer': return `start:${a.containerName}#${a.config.attempt}@${a.sandboxId}`
    }
    return 'unknown'
  })
}

describe('planPod: sandbox and first start', () => {
  it('a new pod gets a sandbox first', () => {
    const p = plan([])
    assert.deepEqual(kinds(p.actions), ['runSandbox'])
    const a = p.actions[0]
    assert.ok(a?.kind === 'runSandbox')
    assert.equal(a.config.hostIP, '10.0.0.1')
    assert.equal(p.terminated, false)
  })
  it('with a running sandbox, each container is pulled and started (attempt 0), in spec order', () => {
    const p = planPod({ pod: pod({ containers: [{ name: 'web', image: 'nginx:1', imagePullPolicy: 'Always' }, { name: 'side', image: 'busybox' }] }), observed: [sandbox()], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(kinds(p.actions), ['ensureImage:nginx:1:Always', 'start:web#0@sb1', 'ensureImage:busybox:IfNotPresent', 'start:side#0@sb1'])
    assert.deepEqual(p.memory.backoff, {})
  })
  it('a running container needs nothing; the same input plans the same', () => {
    const observed = [sandbox(), app('web', 0, 'running')]
    assert.deepEqual(plan(observed), { actions: [], events: [], memory: { backoff: {} }, terminated: false })
    assert.deepEqual(plan(observed), plan(observed))
  })
})

describe('planPod: restart policies', () => {
  const cases: Array<[string, number, string[]]> = [
    ['Always', 0, ['ensureImage:nginx:1:IfNotPresent', 'start:web#1@sb1']],
    ['Always', 1, ['ensureImage:nginx:1:IfNotPresent', 'start:web#1@sb1']],
    ['OnFailure', 1, ['ensureImage:nginx:1:IfNotPresent', 'start:web#1@sb1']],
    ['OnFailure', 0, ['stop:sb1:30:PodCompleted']],
    ['Never', 1, ['stop:sb1:30:PodCompleted']],
    ['Never', 0, ['stop:sb1:30:PodCompleted']]
  ]
  for (const [policy, code, want] of cases) {
    it(`${policy}, exit ${code}`, () => {
      const p = planPod({ pod: pod({ restartPolicy: policy }), observed: [sandbox(), app('web', 0, 'exited', { exitCode: code })], now: T0 + 60_000, hostIP: '10.0.0.1' })
      assert.deepEqual(kinds(p.actions), want)
    })
  }
  it('a container the runtime created but could not start counts as failed (OnFailure restarts it)', () => {
    const p = planPod({ pod: pod({ restartPolicy: 'OnFailure' }), observed: [sandbox(), app('web', 0, 'created', { error: 'exec: "nosuch": executable file not found in $PATH' })], now: T0 + 60_000, hostIP: '10.0.0.1' })
    assert.deepEqual(kinds(p.actions), ['ensureImage:nginx:1:IfNotPresent', 'start:web#1@sb1'])
  })
})

describe('planPod: crash-loop backoff', () => {
  const finished = T0 + 2500 // app('web', 2, 'exited') finished at T0 + 2.5 s
  const memory: PodMemory = { backoff: { web: { delayMs: 20_000, lastUpdateMs: T0 + 2000, attempt: 2 } } }
  const observed = [sandbox(), app('web', 1, 'exited'), app('web', 2, 'exited')]
  it('waits while in backoff: a BackOff event, no start, a resync when it ends', () => {
    const p = plan(observed, { memory, now: finished + 5000 })
    assert.deepEqual(kinds(p.actions), ['remove:web-1'])
    assert.deepEqual(p.events, [{ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container web in pod web-1_default(uid-1)', containerName: 'web' }])
    assert.equal(p.nextSyncAt, finished + 20_000)
  })
  it('starts the next attempt once the delay passed, and doubles the delay', () => {
    const p = plan(observed, { memory, now: finished + 20_000 })
    assert.deepEqual(kinds(p.actions), ['remove:web-1', 'ensureImage:nginx:1:IfNotPresent', 'start:web#3@sb1'])
    assert.deepEqual(p.memory.backoff, { web: { delayMs: 40_000, lastUpdateMs: finished + 20_000, attempt: 3 } })
  })
  it('the first restart does not wait, and starts the backoff at 10 s', () => {
    const p = plan([sandbox(), app('web', 0, 'exited')], { now: T0 + 1000 })
    assert.deepEqual(kinds(p.actions), ['ensureImage:nginx:1:IfNotPresent', 'start:web#1@sb1'])
    assert.equal(p.memory.backoff?.web?.delayMs, 10_000)
  })
})

describe('planPod: image problems', () => {
  const at = T0 + 1000
  const problem = { reason: 'ErrImagePull' as const, message: 'pull access denied for nosuch' }
  const cases: Array<[string, number, number, string[], string | undefined]> = [
    ['first failure: wait 10 s', 1, at + 9000, [], undefined],
    ['first failure, 10 s later: pull again', 1, at + 10_000, ['ensureImage:nginx:1:IfNotPresent', 'start:web#0@sb1'], undefined],
    ['second failure: ImagePullBackOff for 20 s', 2, at + 19_000, [], 'Back-off pulling image "nginx:1"'],
    ['second failure, 20 s later: pull again', 2, at + 20_000, ['ensureImage:nginx:1:IfNotPresent', 'start:web#0@sb1'], undefined]
  ]
  for (const [name, failures, now, want, event] of cases) {
    it(name, () => {
      const p = plan([sandbox()], { now, memory: { imageProblems: { web: { image: 'nginx:1', problem, atMs: at, failures } } } })
      assert.deepEqual(kinds(p.actions), want)
      assert.equal(p.events[0]?.message, event)
    })
  }
  it('a problem with another image (the spec changed) is ignored', () => {
    const p = plan([sandbox()], { memory: { imageProblems: { web: { image: 'nginx:0', problem, atMs: T0 + 59_000, failures: 3 } } } })
    assert.deepEqual(kinds(p.actions), ['ensureImage:nginx:1:IfNotPresent', 'start:web#0@sb1'])
  })
})

describe('planPod: probes, config errors, cleanup', () => {
  it('a failed liveness probe stops the container (Killing); the probe grace period wins', () => {
    const p = planPod({
      pod: pod({ containers: [{ name: 'web', image: 'nginx:1', livenessProbe: { httpGet: { port: 80 }, terminationGracePeriodSeconds: 7 } }] }),
      observed: [sandbox(), app('web', 0, 'running')], now: T0 + 60_000, hostIP: '10.0.0.1',
      memory: { probes: { web: { containerId: 'web-0', liveness: { successes: 0, failures: 3, verdict: 'failure', lastMessage: 'HTTP probe failed with statuscode: 500' } } } }
    })
    assert.deepEqual(kinds(p.actions), ['stop:web-0:7:Unhealthy'])
    assert.deepEqual(p.events, [{ type: 'Normal', reason: 'Killing', message: 'Container web failed liveness probe, will be restarted', containerName: 'web' }])
  })
  it('a mount of a missing volume: no start, a Failed event', () => {
    const p = planPod({ pod: pod({ containers: [{ name: 'web', image: 'x', volumeMounts: [{ name: 'gone', mountPath: '/x' }] }] }), observed: [sandbox()], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(p.actions, [])
    assert.deepEqual(p.events, [{ type: 'Warning', reason: 'Failed', message: 'Error: cannot find volume "gone" to mount into container "web"', containerName: 'web' }])
  })
  it('old attempts are removed, the last exited one kept; unknown containers and extra sandboxes go', () => {
    const observed = [sandbox({ createdAt: iso(T0 + 5000) }), sandbox({ id: 'sb0', state: 'exited' }), app('web', 0, 'exited'), app('web', 1, 'exited'), app('web', 2, 'exited'), app('web', 3, 'running'), app('old', 0, 'running')]
    assert.deepEqual(kinds(plan(observed).actions), ['stop:old-0:30:UnknownContainer', 'remove:old-0', 'remove:sb0', 'remove:web-0', 'remove:web-1'])
  })
})

describe('planPod: dead sandbox and deletion', () => {
  it('a dead sandbox is replaced: running containers stopped, it removed, a new one run', () => {
    const p = plan([sandbox({ state: 'exited' }), app('web', 0, 'running')])
    assert.deepEqual(kinds(p.actions), ['stop:web-0:30:SandboxDead', 'remove:sb1', 'runSandbox'])
    assert.deepEqual(p.events.map(e => e.reason), ['Killing', 'SandboxChanged'])
  })
  it('under restartPolicy Never a dead sandbox is not replaced once containers ran', () => {
    const p = planPod({ pod: pod({ restartPolicy: 'Never' }), observed: [sandbox({ state: 'exited' }), app('web', 0, 'running')], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(kinds(p.actions), ['stop:web-0:30:SandboxDead'])
  })
  it('a deleted pod stops its containers, then its sandbox, with the deletion grace period', () => {
    const deleted = pod({}, { deletionTimestamp: iso(T0), deletionGracePeriodSeconds: 10 })
    const p = planPod({ pod: deleted, observed: [sandbox(), app('web', 0, 'running')], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(kinds(p.actions), ['stop:web-0:10:PodDeleted', 'stop:sb1:10:PodDeleted'])
    assert.equal(p.terminated, false)
    const done = planPod({ pod: deleted, observed: [sandbox({ state: 'exited' }), app('web', 0, 'exited')], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(done.actions, [])
    assert.equal(done.terminated, true)
  })
  it('a pod rejected at admission (Failed) runs nothing', () => {
    const p = planPod({ pod: pod({}, {}, { phase: 'Failed', reason: 'OutOfmemory' }), observed: [], now: T0, hostIP: '10.0.0.1' })
    assert.deepEqual(p.actions, [])
  })
})

describe('orphans', () => {
  it('stops and removes containers of pods not bound here, apps before sandboxes', () => {
    const other = (o: ObservedContainer): ObservedContainer => ({ ...o, id: `x-${o.id}`, podUid: 'gone' })
    const observed = [sandbox(), app('web', 0, 'running'), other(sandbox()), other(app('web', 0, 'running')), other(app('web', 1, 'exited'))]
    assert.deepEqual(kinds(orphans(observed, [pod()])), ['stop:x-web-0:30:Orphaned', 'stop:x-sb1:0:Orphaned', 'remove:x-web-0', 'remove:x-web-1', 'remove:x-sb1'])
    assert.equal(orphans(observed, [pod(), pod({}, { uid: 'gone' })]).length, 0)
    assert.equal(UID, 'uid-1')
  })
})
