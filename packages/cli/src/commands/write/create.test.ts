import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { containerNameOf, deploymentFor } from './create.ts'

describe('create deployment', () => {
  it('names a container after the image\'s last path segment, without tag or digest', () => {
    for (const [image, name] of [['nginx', 'nginx'], ['nginx:1.27', 'nginx'], ['registry.local:5000/team/web-app:v2', 'web-app'], ['busybox@sha256:abc', 'busybox'], ['my_img.v2', 'my-img-v2']] as const) {
      assert.equal(containerNameOf(image), name, image)
    }
  })

  it('builds the object kubectl builds: app label and selector, replicas, the port on the first container', () => {
    assert.deepEqual(deploymentFor('web', ['nginx:1.27', 'busybox'], 3, 80), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }, { name: 'busybox', image: 'busybox' }] } },
        strategy: {}
      }
    })
  })

  it('two images with the same name get distinct container names', () => {
    const spec = deploymentFor('web', ['a/nginx:1', 'b/nginx:2'], 1, undefined).spec as any
    assert.deepEqual(spec.template.spec.containers.map((c: { name: string }) => c.name), ['nginx', 'nginx-2'])
    assert.equal(spec.template.spec.containers[0].ports, undefined)
  })
})
