import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { infoForKind } from '@shoal/core/api/index.ts'
import { serviceFor } from './expose.ts'

const deploy = infoForKind('Deployment')!
const d = (ports: number[], selector: Record<string, unknown> = { matchLabels: { app: 'web' } }): Record<string, unknown> => ({
  metadata: { name: 'web', labels: { app: 'web', team: 'a' } },
  spec: { selector, template: { spec: { containers: [{ name: 'c', ports: ports.map(p => ({ containerPort: p })) }] } } }
})

describe('expose', () => {
  it('builds kubectl\'s Service: selector from the Deployment, its labels, the port and target port', () => {
    assert.deepEqual(serviceFor(deploy, d([80]), { type: 'LoadBalancer', port: 8080, targetPort: 80 }), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web', team: 'a' } },
      spec: { ports: [{ port: 8080, protocol: 'TCP', targetPort: 80 }], selector: { app: 'web' }, type: 'LoadBalancer' }
    })
  })

  it('without --port takes the containers\' ports, named when there are several; --name renames', () => {
    const svc = serviceFor(deploy, d([80, 443]), { name: 'web-int' }) as any
    assert.equal(svc.metadata.name, 'web-int')
    assert.deepEqual(svc.spec.ports, [{ name: 'port-1', port: 80, protocol: 'TCP', targetPort: 80 }, { name: 'port-2', port: 443, protocol: 'TCP', targetPort: 443 }])
    assert.equal(svc.spec.type, undefined)
  })

  it('refuses what a Service cannot select, and a missing port', () => {
    assert.throws(() => serviceFor(deploy, d([]), {}), /couldn't find port via --port flag or introspection/)
    assert.throws(() => serviceFor(deploy, d([80], { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }), {}), /matchExpressions/)
    assert.throws(() => serviceFor(infoForKind('ConfigMap')!, {}, { port: 80 }), /cannot expose a ConfigMap/)
  })
})
