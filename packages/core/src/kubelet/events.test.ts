import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createdEvent, imageFailedEvents, pulledEvent, pullingEvent, startFailedEvent, startedEvent, unhealthyEvent } from './events.ts'

describe('kubelet events, worded as Kubernetes', () => {
  const cases: Array<[string, { type: string, reason: string, message: string }, string]> = [
    ['pulling', pullingEvent('web', 'nginx:1'), 'Normal Pulling Pulling image "nginx:1"'],
    ['pulled', pulledEvent('web', 'nginx:1', 1234), 'Normal Pulled Successfully pulled image "nginx:1" in 1.234s'],
    ['pulled, round', pulledEvent('web', 'nginx:1', 2000), 'Normal Pulled Successfully pulled image "nginx:1" in 2s'],
    ['present', pulledEvent('web', 'nginx:1'), 'Normal Pulled Container image "nginx:1" already present on machine'],
    ['created', createdEvent('web'), 'Normal Created Created container web'],
    ['started', startedEvent('web'), 'Normal Started Started container web'],
    ['start failed', startFailedEvent('web', 'exec: "nosuch": executable file not found in $PATH'), 'Warning Failed Error: exec: "nosuch": executable file not found in $PATH'],
    ['unhealthy', unhealthyEvent('web', 'readiness', 'dial tcp 172.17.0.2:80: connect: connection refused'), 'Warning Unhealthy Readiness probe failed: dial tcp 172.17.0.2:80: connect: connection refused']
  ]
  for (const [name, e, want] of cases) it(name, () => assert.equal(`${e.type} ${e.reason} ${e.message}`, want))
  it('a failed pull records the cause, then the reason', () => {
    const es = imageFailedEvents('web', 'nosuch:1', { reason: 'ErrImagePull', message: 'pull access denied' })
    assert.deepEqual(es.map(e => e.message), ['Failed to pull image "nosuch:1": pull access denied', 'Error: ErrImagePull'])
  })
})
