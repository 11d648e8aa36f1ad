import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { containerConfigFor, containerEnv, expandVars, podHostname, sandboxConfigFor } from './config.ts'
import { bytesOf, cpuMilli } from './spec.ts'
import type { ContainerConfig } from './types.ts'
import { pod } from './test-fixtures.ts'

const noVolumes = (): undefined => undefined

function config (containers: unknown[], extra: Record<string, unknown> = {}, volumePaths: (n: string) => string | undefined = noVolumes): ContainerConfig {
  const c = containerConfigFor(pod({ containers, ...extra }), 'web', 0, volumePaths, { podIP: '172.17.0.2', hostIP: '10.0.0.1' })
  assert.ok(!('error' in c), JSON.stringify(c))
  return c
}

describe('quantities', () => {
  const cases: Array<[unknown, number | undefined, number | undefined]> = [
    ['500m', 500, 1], ['1', 1000, 1], ['0.5', 500, 1], [2, 2000, 2], ['128Mi', 128 * 2 ** 30 * 1000 / 2 ** 10, 128 * 2 ** 20],
    ['1G', 1e12, 1e9], ['1e3', 1e6, 1000], ['1.5Gi', 1.5 * 2 ** 30 * 1000, 1.5 * 2 ** 30], ['100k', 1e8, 1e5], ['1m', 1, 1], ['0.1m', 1, 1], ['nope', undefined, undefined], [undefined, undefined, undefined]
  ]
  for (const [q, milli, bytes] of cases) {
    it(`${String(q)} → ${String(milli)} milli, ${String(bytes)} bytes`, () => {
      assert.equal(cpuMilli(q), milli)
      assert.equal(bytesOf(q), bytes)
    })
  }
})

describe('$(VAR) expansion', () => {
  const vars = new Map([['A', 'x'], ['EMPTY', '']])
  const cases: Array<[string, string]> = [
    ['$(A)', 'x'], ['a$(A)b', 'axb'], ['$(A)$(A)', 'xx'], ['$$(A)', '$(A)'], ['$$$(A)', '$x'], ['$(B)', '$(B)'],
    ['$(EMPTY)-', '-'], ['$A', '$A'], ['$', '$'], ['a$', 'a$'], ['$(A', '$(A'], ['$$', '$'], ['$()', '$()'], ['plain', 'plain']
  ]
  for (const [input, want] of cases) it(`${input} → ${want}`, () => assert.equal(expandVars(input, n => vars.get(n)), want))
})

describe('containerEnv', () => {
  it('expands against earlier entries only, keeps first position for duplicates, reads fieldRefs', () => {
    const env = containerEnv(pod(), {
      name: 'web',
      image: 'x',
      env: [
        { name: 'LATER_REF', value: '$(HOST)' },
        { name: 'HOST', value: 'h' },
        { name: 'URL', value: 'http://$(HOST):$(PORT)/' },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'HOST', value: '$(HOST)2' },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: true } } }
      ]
    }, { podIP: '172.17.0.2' })
    assert.ok(env instanceof Map)
    assert.deepEqual([...env], [['LATER_REF', '$(HOST)'], ['HOST', 'h2'], ['URL', 'http://h:$(PORT)/'], ['NAME', 'web-1'], ['IP', '172.17.0.2'], ['APP', '']])
  })
  it('a required configMap reference is an error', () => {
    const env = containerEnv(pod(), { name: 'web', image: 'x', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] })
    assert.ok(!(env instanceof Map) && /configmap default\/cm/.test(env.error))
  })
})

describe('sandboxConfigFor', () => {
  it('publishes every containerPort of every container, TCP by default, hostPort when given', () => {
    const p = pod({ containers: [
      { name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }, { containerPort: 53, protocol: 'UDP', hostPort: 5353 }] },
      { name: 'side', image: 'busybox', ports: [{ containerPort: 9000, hostPort: 0 }] }
    ] })
    assert.deepEqual(sandboxConfigFor(p, '10.0.0.1'), {
      podUid: 'uid-1', namespace: 'default', podName: 'web-1', hostname: 'web-1', hostIP: '10.0.0.1',
      ports: [
        { containerName: 'web', name: 'http', containerPort: 80, protocol: 'TCP' },
        { containerName: 'web', containerPort: 53, protocol: 'UDP', hostPort: 5353 },
        { containerName: 'side', containerPort: 9000, protocol: 'TCP' }
      ],
      sharedIpc: true
    })
  })
  it('shares IPC only when the pod has more than one container, init containers counted', () => {
    assert.equal(sandboxConfigFor(pod({ containers: [{ name: 'web', image: 'x' }] }), '10.0.0.1').sharedIpc, false)
    assert.equal(sandboxConfigFor(pod({ containers: [{ name: 'web', image: 'x' }], initContainers: [{ name: 'init', image: 'x' }] }), '10.0.0.1').sharedIpc, true)
    assert.equal(config([{ name: 'web', image: 'x' }]).sharedIpc, false)
    assert.equal(config([{ name: 'web', image: 'x' }, { name: 'side', image: 'x' }]).sharedIpc, true)
  })
  it('hostname: spec.hostname, else the name cut to 63 without a trailing dash', () => {
    assert.equal(podHostname(pod({ hostname: 'db-0' })), 'db-0')
    const long = `${'a'.repeat(62)}-bcd`
    assert.equal(podHostname(pod({}, { name: long })), 'a'.repeat(62))
  })
})

describe('containerConfigFor', () => {
  it('maps command, args (expanded), env, workingDir, tty, stdin, resources and grace period', () => {
    const c = config([{
      name: 'web', image: 'nginx:1', command: ['sh', '-c'], args: ['echo $(MSG) $$(MSG) $(NOPE)'], workingDir: '/srv', tty: true, stdin: true,
      env: [{ name: 'MSG', value: 'hi' }],
      resources: { limits: { cpu: '500m', memory: '128Mi' } }
    }], { terminationGracePeriodSeconds: 5 })
    assert.deepEqual(c, {
      podUid: 'uid-1', namespace: 'default', podName: 'web-1', containerName: 'web', attempt: 0, image: 'nginx:1',
      command: ['sh', '-c'], args: ['echo hi $(MSG) $(NOPE)'], env: ['MSG=hi'], workingDir: '/srv', mounts: [], tmpfs: [],
      cpuLimitMilli: 500, memoryLimitBytes: 128 * 2 ** 20, cpuRequestMilli: 500, tty: true, stdin: true, stopTimeoutSeconds: 5, sharedIpc: false
    })
  })
  it('a cpu request wins over the limit; no resources, no fields; grace defaults to 30', () => {
    const c = config([{ name: 'web', image: 'x', resources: { requests: { cpu: '0.1' }, limits: { cpu: '1' } } }], { terminationGracePeriodSeconds: undefined })
    assert.equal(c.cpuRequestMilli, 100)
    assert.equal(c.cpuLimitMilli, 1000)
    assert.equal(c.stopTimeoutSeconds, 30)
    const bare = config([{ name: 'web', image: 'x' }])
    assert.equal('cpuLimitMilli' in bare || 'memoryLimitBytes' in bare || 'cpuRequestMilli' in bare || 'command' in bare, false)
  })
  it('mounts: emptyDir at the agent path, hostPath, readOnly, subPath, memory emptyDir as tmpfs', () => {
    const c = config([{
      name: 'web', image: 'x',
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'data', mountPath: '/logs', subPath: 'logs/web', readOnly: true },
        { name: 'host', mountPath: '/host', readOnly: true },
        { name: 'cache', mountPath: '/cache' },
        { name: 'scratch', mountPath: '/scratch' }
      ]
    }], {
      volumes: [
        { name: 'data', emptyDir: {} }, { name: 'host', hostPath: { path: '/var/log/' } },
        { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }, { name: 'scratch', emptyDir: { medium: 'Memory' } }
      ]
    }, n => n === 'data' ? '/var/lib/shoal/pods/uid-1/volumes/data' : undefined)
    assert.deepEqual(c.mounts, [
      { source: '/var/lib/shoal/pods/uid-1/volumes/data', target: '/data', readOnly: false },
      { source: '/var/lib/shoal/pods/uid-1/volumes/data/logs/web', target: '/logs', readOnly: true },
      { source: '/var/log/', target: '/host', readOnly: true }
    ])
    assert.deepEqual(c.tmpfs, [{ target: '/cache', sizeBytes: 64 * 2 ** 20 }, { target: '/scratch' }])
  })
  const errors: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing volume', { containers: [{ name: 'web', image: 'x', volumeMounts: [{ name: 'gone', mountPath: '/x' }] }] }, /^cannot find volume "gone" to mount into container "web"$/],
    ['unsupported volume', { volumes: [{ name: 'c', configMap: { name: 'cm' } }], containers: [{ name: 'web', image: 'x', volumeMounts: [{ name: 'c', mountPath: '/x' }] }] }, /configMap volumes are not supported/],
    ['secret env', { containers: [{ name: 'web', image: 'x', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'p' } } }] }] }, /secret default\/s/],
    ['unknown container', { containers: [{ name: 'other', image: 'x' }] }, /container "web" is not in the pod spec/]
  ]
  for (const [name, spec, re] of errors) {
    it(`error: ${name}`, () => {
      const c = containerConfigFor(pod(spec), 'web', 0, noVolumes)
      assert.ok('error' in c && re.test(c.error), JSON.stringify(c))
    })
  }
})
