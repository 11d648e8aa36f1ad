import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cascadeFlag, namedTargets } from './delete.ts'

describe('delete arguments', () => {
  const named = (args: string[]): string[] => namedTargets(args).map(t => `${t.kind.resource}/${t.name}`)

  it('reads KIND NAME..., KIND,KIND NAME and KIND/NAME...', () => {
    assert.deepEqual(named(['deploy', 'a', 'b']), ['deployments/a', 'deployments/b'])
    assert.deepEqual(named(['deploy,svc', 'web']), ['deployments/web', 'services/web'])
    assert.deepEqual(named(['deploy/web', 'svc/web']), ['deployments/web', 'services/web'])
  })

  it('refuses a mix of both forms and an unknown kind', () => {
    assert.throws(() => named(['deploy', 'svc/web']), /either KIND NAME\.\.\. or KIND\/NAME/)
    assert.throws(() => named(['widgets', 'w']), /the server doesn't have a resource type "widgets"/)
  })
})

describe('--cascade', () => {
  it('reads kubectl\'s values: background (default, true), foreground, orphan (false)', () => {
    assert.equal(cascadeFlag(undefined), 'Background')
    assert.equal(cascadeFlag('true'), 'Background')
    assert.equal(cascadeFlag('Foreground'), 'Foreground')
    assert.equal(cascadeFlag('orphan'), 'Orphan')
    assert.equal(cascadeFlag(false), 'Orphan')
    assert.throws(() => cascadeFlag('sideways'), { message: 'invalid cascade value (sideways). Must be "background", "foreground", or "orphan"' })
  })
})
