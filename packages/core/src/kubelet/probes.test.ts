import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { containerVerdict, dueProbes, initialProbeState, nextProbeAt, probeFailureMessage, probeKillMessage, probeSpecOf, recordProbeResult } from './probes.ts'
import type { ContainerProbes, ProbeKind, ProbeState } from './probes.ts'
import type { ContainerSpec } from './spec.ts'

/** Feeds a string of results (`s` success, `f` failure), one per period, and returns the verdict after each. */
function run (kind: ProbeKind, fields: Record<string, number>, results: string): string {
  const spec = probeSpecOf(fields)
  let state = initialProbeState(kind)
  let out = ''
  results.split('').forEach((r, i) => {
    state = recordProbeResult(spec, state, { ok: r === 's', atMs: i * 10_000, ...(r === 'f' ? { message: 'boom' } : {}) })
    out += state.verdict === 'success' ? 'S' : 'F'
  })
  return out
}

describe('probe thresholds', () => {
  const cases: Array<[string, ProbeKind, Record<string, number>, string, string]> = [
    ['readiness starts failing, one success makes it ready, 3 failures in a row unready', 'readiness', {}, 'fsfff', 'FSSSF'],
    ['readiness needs successThreshold in a row', 'readiness', { successThreshold: 3 }, 'sssfss', 'FFSSSS'],
    ['readiness with successThreshold 2 then failureThreshold 3', 'readiness', { successThreshold: 2 }, 'ssfffs', 'FSSSFF'],
    ['liveness holds until failureThreshold (3) in a row', 'liveness', {}, 'ffsfff', 'SSSSSF'],
    ['liveness with failureThreshold 1', 'liveness', { failureThreshold: 1 }, 'sf', 'SF'],
    ['startup starts failing, one success', 'startup', {}, 'ffs', 'FFS']
  ]
  for (const [name, kind, fields, results, want] of cases) it(name, () => assert.equal(run(kind, fields, results), want))

  it('defaults: period 10, timeout 1, success 1, failure 3; zero means default', () => {
    assert.deepEqual(probeSpecOf({}), { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 })
    assert.deepEqual(probeSpecOf({ initialDelaySeconds: 5, periodSeconds: 0, failureThreshold: 0 }).periodSeconds, 10)
  })
})

describe('nextProbeAt', () => {
  const spec = probeSpecOf({ initialDelaySeconds: 15, periodSeconds: 5 })
  it('waits initialDelaySeconds after start, then one period after each run', () => {
    assert.equal(nextProbeAt(spec, initialProbeState('readiness'), 1000), 16_000)
    const s: ProbeState = { ...initialProbeState('readiness'), lastAtMs: 16_000 }
    assert.equal(nextProbeAt(spec, s, 1000), 21_000)
  })
})

describe('containerVerdict', () => {
  const c = (probes: Partial<ContainerSpec>): ContainerSpec => ({ name: 'web', image: 'x', ...probes })
  const probe = { httpGet: { port: 80 } }
  const st = (verdict: 'success' | 'failure', failures = 0, lastMessage?: string): ProbeState => ({ successes: 0, failures, verdict, ...(lastMessage !== undefined ? { lastMessage } : {}) })
  const cases: Array<[string, ContainerSpec, ContainerProbes | undefined, unknown]> = [
    ['no probes: started and ready', c({}), undefined, { started: true, ready: true }],
    ['readiness not yet succeeded', c({ readinessProbe: probe }), undefined, { started: true, ready: false }],
    ['readiness succeeded', c({ readinessProbe: probe }), { containerId: 'id1', readiness: st('success') }, { started: true, ready: true }],
    ['probes of an earlier container do not count', c({ readinessProbe: probe }), { containerId: 'old', readiness: st('success') }, { started: true, ready: false }],
    ['liveness failed: restart', c({ livenessProbe: probe }), { containerId: 'id1', liveness: st('failure', 3, 'HTTP probe failed with statuscode: 500') },
      { started: true, ready: true, restart: { probe: 'Liveness', message: 'HTTP probe failed with statuscode: 500' } }],
    ['startup pending: not started, not ready, liveness ignored', c({ startupProbe: probe, livenessProbe: probe }), { containerId: 'id1', liveness: st('failure', 3), startup: st('failure', 2) },
      { started: false, ready: false }],
    ['startup failed failureThreshold times: restart', c({ startupProbe: probe }), { containerId: 'id1', startup: st('failure', 3, 'x') },
      { started: false, ready: false, restart: { probe: 'Startup', message: 'x' } }],
    ['startup succeeded: readiness decides', c({ startupProbe: probe, readinessProbe: probe }), { containerId: 'id1', startup: st('success') }, { started: true, ready: false }]
  ]
  for (const [name, spec, probes, want] of cases) it(name, () => assert.deepEqual(containerVerdict(spec, 'id1', probes), want))
})

describe('dueProbes', () => {
  const probe = { exec: { command: ['true'] }, periodSeconds: 10 }
  const c: ContainerSpec = { name: 'web', image: 'x', startupProbe: probe, livenessProbe: probe, readinessProbe: { ...probe, initialDelaySeconds: 30 } }
  it('only the startup probe runs before startup succeeded', () => {
    const r = dueProbes(c, 'id1', 0, undefined, 0)
    assert.deepEqual(r.due.map(d => d.kind), ['startup'])
    assert.equal(r.nextAtMs, undefined)
  })
  it('after startup, liveness is due at once and readiness after its delay', () => {
    const probes: ContainerProbes = { containerId: 'id1', startup: { successes: 1, failures: 0, verdict: 'success', lastAtMs: 0 } }
    const r = dueProbes(c, 'id1', 0, probes, 5000)
    assert.deepEqual(r.due.map(d => d.kind), ['liveness'])
    assert.equal(r.nextAtMs, 30_000)
  })
})

describe('event messages', () => {
  it('words failures and kills as Kubernetes', () => {
    assert.equal(probeFailureMessage('liveness', 'HTTP probe failed with statuscode: 500'), 'Liveness probe failed: HTTP probe failed with statuscode: 500')
    assert.equal(probeFailureMessage('readiness', 'dial tcp 10.0.0.5:8080: connect: connection refused'), 'Readiness probe failed: dial tcp 10.0.0.5:8080: connect: connection refused')
    assert.equal(probeKillMessage('web', 'Liveness'), 'Container web failed liveness probe, will be restarted')
  })
})
