import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { infoForKind } from '@shoal/core/api/index.ts'
import { imagePatch, parseImagePairs } from './set-image.ts'

const deploy = infoForKind('Deployment')!
const pod = infoForKind('Pod')!
const obj = { spec: { template: { spec: { initContainers: [{ name: 'init', image: 'busybox:1' }], containers: [{ name: 'web', image: 'nginx:1' }, { name: 'log', image: 'fluent:1' }] } } } }

describe('set image', () => {
  it('patches only the named containers that change, initContainers too', () => {
    assert.deepEqual(imagePatch(deploy, obj, parseImagePairs(['web=nginx:2', 'init=busybox:2', 'log=fluent:1'])), {
      spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }], initContainers: [{ name: 'init', image: 'busybox:2' }] } } }
    })
  })

  it('*=IMAGE sets every container; a pod keeps its containers in spec', () => {
    assert.deepEqual(imagePatch(deploy, obj, parseImagePairs(['*=x:9'])), {
      spec: { template: { spec: { containers: [{ name: 'web', image: 'x:9' }, { name: 'log', image: 'x:9' }], initContainers: [{ name: 'init', image: 'x:9' }] } } }
    })
    assert.deepEqual(imagePatch(pod, { spec: { containers: [{ name: 'a', image: 'old' }] } }, parseImagePairs(['a=new'])), { spec: { containers: [{ name: 'a', image: 'new' }] } })
  })

  it('nothing to change is no patch; an unknown container and a malformed pair are errors', () => {
    assert.equal(imagePatch(deploy, obj, parseImagePairs(['web=nginx:1'])), undefined)
    assert.throws(() => imagePatch(deploy, obj, parseImagePairs(['x=nginx:2'])), /^Error: unable to find container named "x"$/)
    assert.throws(() => parseImagePairs(['=nginx']), /"=nginx" is not CONTAINER=IMAGE/)
    assert.throws(() => parseImagePairs(['web=']), /is not CONTAINER=IMAGE/)
  })
})
