import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ObjectStore } from './store.ts'
import type { BatchResult, KubeObject, ObjectCommand, ObjectInput, Result } from './types.ts'
import { CLUSTER_CONFIG, POD_CIDR_DEFAULTS, allocatePodCIDR, checkPodCIDRSettings, freePodCIDR, podCIDRSettings } from './pod-cidrs.ts'
import { containsCIDR, formatCIDR, formatIPv4, isNetworkAddress, networkOf, overlaps, parseCIDR, parseIPv4, subnetAt, subnetCount } from '../network/cidr.ts'

const NOW = '2026-01-01T00:00:00Z'

const cidr = (text: string): { address: number, prefix: number } => {
  const c = parseCIDR(text)
  assert.ok(c !== undefined, `${text} parses`)
  return c
}

describe('CIDR helpers', () => {
  const ips: Array<[string, number | undefined]> = [
    ['0.0.0.0', 0], ['10.244.1.7', 0x0af40107], ['255.255.255.255', 2 ** 32 - 1],
    ['256.0.0.1', undefined], ['10.0.0', undefined], ['10.0.0.1.2', undefined], ['a.b.c.d', undefined], ['', undefined], ['10.0.0.-1', undefined]
  ]
  for (const [text, n] of ips) {
    it(`parseIPv4(${JSON.stringify(text)}) → ${String(n)}`, () => {
      assert.equal(parseIPv4(text), n)
      if (n !== undefined) assert.equal(formatIPv4(n), text)
    })
  }

  const cidrs: Array<[string, string | undefined, boolean]> = [
    // text, network, written as its network address
    ['10.244.0.0/16', '10.244.0.0/16', true],
    ['10.244.1.7/24', '10.244.1.0/24', false],
    ['0.0.0.0/0', '0.0.0.0/0', true],
    ['255.255.255.255/32', '255.255.255.255/32', true],
    ['192.168.1.128/25', '192.168.1.128/25', true],
    ['10.244.0.0/33', undefined, false],
    ['10.244.0.0', undefined, false],
    ['10.244.0.0/', undefined, false],
    ['10.244.0.0/1a', undefined, false],
    ['fd00::/64', undefined, false],
    [' 10.0.0.0/8', undefined, false]
  ]
  for (const [text, network, exact] of cidrs) {
    it(`parseCIDR(${JSON.stringify(text)}) → ${String(network)}`, () => {
      const c = parseCIDR(text)
      if (network === undefined) return assert.equal(c, undefined)
      assert.ok(c !== undefined)
      assert.equal(formatCIDR(networkOf(c)), network)
      assert.equal(isNetworkAddress(c), exact)
      if (exact) assert.equal(formatCIDR(c), text)
    })
  }

  const pairs: Array<[string, string, boolean, boolean]> = [
    // outer, inner, contains, overlaps
    ['10.244.0.0/16', '10.244.3.0/24', true, true],
    ['10.244.0.0/16', '10.244.0.0/16', true, true],
    ['10.244.0.0/16', '10.245.0.0/24', false, false],
    ['10.244.0.0/16', '10.0.0.0/8', false, true],
    ['10.244.0.0/16', '10.243.255.0/24', false, false],
    ['10.244.0.0/16', '10.244.255.255/32', true, true],
    ['10.96.0.0/16', '10.96.0.0/12', false, true],
    ['0.0.0.0/0', '192.0.2.0/24', true, true]
  ]
  for (const [outer, inner, contains, overlap] of pairs) {
    it(`${outer} ${contains ? 'contains' : 'does not contain'} ${inner}, ${overlap ? 'overlaps' : 'is clear of'} it`, () => {
      assert.equal(containsCIDR(cidr(outer), cidr(inner)), contains)
      assert.equal(overlaps(cidr(outer), cidr(inner)), overlap)
      assert.equal(overlaps(cidr(inner), cidr(outer)), overlap, 'overlap is symmetric')
    })
  }

  const subnets: Array<[string, number, number, string | undefined]> = [
    ['10.244.0.0/16', 24, 0, '10.244.0.0/24'],
    ['10.244.0.0/16', 24, 1, '10.244.1.0/24'],
    ['10.244.0.0/16', 24, 255, '10.244.255.0/24'],
    ['10.244.0.0/16', 24, 256, undefined],
    ['10.244.0.0/16', 26, 5, '10.244.1.64/26'],
    ['10.0.0.0/8', 28, 2 ** 20 - 1, '10.255.255.240/28'],
    ['255.255.255.0/24', 28, 15, '255.255.255.240/28'],
    ['10.244.0.0/16', 15, 0, undefined],
    ['10.244.0.0/16', 24, -1, undefined],
    ['10.244.0.0/16', 24, 1.5, undefined]
  ]
  for (const [c, mask, k, expected] of subnets) {
    it(`subnet ${k} /${mask} of ${c} is ${String(expected)}`, () => {
      const s = subnetAt(cidr(c), mask, k)
      assert.equal(s === undefined ? undefined : formatCIDR(s), expected)
    })
  }
  it('counts the subnets', () => {
    assert.equal(subnetCount(cidr('10.244.0.0/16'), 24), 256)
    assert.equal(subnetCount(cidr('10.244.0.0/16'), 16), 1)
    assert.equal(subnetCount(cidr('10.244.0.0/16'), 8), 0)
  })
})

describe('pod CIDR settings', () => {
  const cases: Array<[string, number, string[]]> = [
    ['10.244.0.0/16', 24, []],
    ['10.200.0.0/16', 17, []],
    ['10.0.0.0/8', 28, []],
    ['10.244.0.0/27', 28, []],
    ['10.244.1.0/16', 24, ['clusterCIDR: must have its host bits zero: 10.244.1.0/16 is in the network 10.244.0.0/16']],
    ['10.244.0.0', 24, ['clusterCIDR: must be an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0"']],
    ['10.244.0.0/16', 16, ['nodeCIDRMaskSize: must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got 16']],
    ['10.244.0.0/16', 29, ['nodeCIDRMaskSize: must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got 29']],
    ['10.244.0.0/16', 24.5, ['nodeCIDRMaskSize: must be 17-28 (longer than the cluster CIDR\'s /16, and at least 16 addresses per node), got 24.5']],
    ['10.244.0.0/28', 28, ['clusterCIDR: must be a /27 or larger, room for at least two node ranges of /28, got 10.244.0.0/28']]
  ]
  for (const [clusterCIDR, mask, problems] of cases) {
    it(`${clusterCIDR} with /${mask}: ${problems.length === 0 ? 'fine' : problems.join('; ')}`, () => {
      assert.deepEqual(checkPodCIDRSettings(clusterCIDR, mask).map(p => `${p.field}: ${p.message}`), problems)
    })
  }

  it('come from the ClusterConfig: none without one, the defaults for what an older one lacks, none from unusable ones', () => {
    const config = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: 'cluster', uid: 'u', resourceVersion: '1', creationTimestamp: NOW }, spec })
    assert.equal(podCIDRSettings(undefined), undefined)
    const old = podCIDRSettings(config({ voters: 3 }))
    assert.deepEqual(old === undefined ? undefined : [formatCIDR(old.clusterCIDR), old.nodeCIDRMaskSize], [POD_CIDR_DEFAULTS.clusterCIDR, POD_CIDR_DEFAULTS.nodeCIDRMaskSize])
    const set = podCIDRSettings(config({ voters: 3, clusterCIDR: '10.200.0.0/16', nodeCIDRMaskSize: 20 }))
    assert.deepEqual(set === undefined ? undefined : [formatCIDR(set.clusterCIDR), set.nodeCIDRMaskSize], ['10.200.0.0/16', 20])
    assert.equal(podCIDRSettings(config({ clusterCIDR: 'nonsense' })), undefined)
    assert.equal(podCIDRSettings(config({ nodeCIDRMaskSize: '24' })), undefined)
  })
})

// ---------------------------------------------------------------- allocation, pure

function clusterConfig (spec: Record<string, unknown> = { voters: 3, clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }): KubeObject {
  return { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG.name, uid: 'cc', resourceVersion: '1', creationTimestamp: NOW }, spec }
}

function nodeInput (name: string, spec: Record<string, unknown> = {}): ObjectInput {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec, status: { phase: 'Running' } }
}

function stored (name: string, spec: Record<string, unknown>): KubeObject {
  return { ...nodeInput(name, spec), metadata: { name, uid: `uid-${name}`, resourceVersion: '2', creationTimestamp: NOW } }
}

const nodeSpec = (o: { spec?: unknown }): { podCIDR?: string, podCIDRs?: string[], [k: string]: unknown } => (o.spec ?? {}) as never

describe('allocatePodCIDR', () => {
  const held = [stored('a', { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] }), stored('c', { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] })]

  const allocations: Array<[string, readonly KubeObject[], Record<string, unknown>, string | undefined]> = [
    // what, other nodes, ClusterConfig spec, range given
    ['the first range to the first node', [], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.0.0/24'],
    ['the lowest gap', held, { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.1.0/24'],
    ['after the held ones', [...held, stored('b', { podCIDR: '10.244.1.0/24' })], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.3.0/24'],
    ['from the configured CIDR and size', [], { clusterCIDR: '10.200.0.0/16', nodeCIDRMaskSize: 26 }, '10.200.0.0/26'],
    ['the defaults for an older ClusterConfig', held, { voters: 3 }, '10.244.1.0/24'],
    ['past a larger range held from elsewhere', [stored('x', { podCIDR: '10.244.0.0/23' })], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.2.0/24'],
    ['past a range listed only in podCIDRs', [stored('x', { podCIDRs: ['10.244.0.0/24'] })], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.1.0/24'],
    ['ignoring ranges outside the cluster CIDR', [stored('x', { podCIDR: '10.1.0.0/24' }), stored('y', { podCIDR: 'garbage' })], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, '10.244.0.0/24'],
    ['nothing when all are held', [stored('a', { podCIDR: '10.244.0.0/25' }), stored('b', { podCIDR: '10.244.0.128/25' })], { clusterCIDR: '10.244.0.0/24', nodeCIDRMaskSize: 25 }, undefined],
    ['nothing when one range covers all', [stored('a', { podCIDR: '10.0.0.0/8' })], { clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }, undefined]
  ]
  for (const [what, others, spec, expected] of allocations) {
    it(`gives ${what}: ${String(expected)}`, () => {
      const r = allocatePodCIDR(nodeInput('n'), undefined, others, clusterConfig(spec))
      assert.ok(r.ok)
      assert.equal(nodeSpec(r.object).podCIDR, expected)
      assert.deepEqual(nodeSpec(r.object).podCIDRs, expected === undefined ? undefined : [expected])
      assert.equal(freePodCIDR(others, clusterConfig(spec)), expected)
    })
  }

  it('gives no range before the ClusterConfig exists, and the Node is still written', () => {
    const r = allocatePodCIDR(nodeInput('n', { unschedulable: true }), undefined, [], undefined)
    assert.ok(r.ok)
    assert.deepEqual(r.object.spec, { unschedulable: true })
    assert.equal(freePodCIDR([], undefined), undefined)
  })

  it('gives a range to a Node written without a spec, and leaves the input as it was', () => {
    const input = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } }
    const r = allocatePodCIDR(input, undefined, [], clusterConfig())
    assert.ok(r.ok)
    assert.deepEqual(r.object.spec, { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] })
    assert.equal(Object.hasOwn(input, 'spec'), false)
  })

  it('keeps the previous range when an update leaves it out, or gives it as ""', () => {
    const previous = stored('n', { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] })
    for (const spec of [{}, { podCIDR: '' }, { podCIDR: '', podCIDRs: [] }, { podCIDRs: ['10.244.7.0/24'] }, { podCIDR: '10.244.7.0/24' }]) {
      const r = allocatePodCIDR(nodeInput('n', { ...spec, unschedulable: true }), previous, held, clusterConfig())
      assert.ok(r.ok, JSON.stringify(spec))
      assert.deepEqual(r.object.spec, { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'], unschedulable: true }, JSON.stringify(spec))
    }
  })

  it('keeps a range once set even when it no longer fits the ClusterConfig', () => {
    const previous = stored('n', { podCIDR: '10.9.0.0/24' })
    const r = allocatePodCIDR(nodeInput('n'), previous, [], clusterConfig())
    assert.ok(r.ok)
    assert.equal(nodeSpec(r.object).podCIDR, '10.9.0.0/24')
  })

  it('allocates on an update of a Node that has no range yet', () => {
    const previous = stored('n', {})
    const r = allocatePodCIDR(nodeInput('n'), previous, held, clusterConfig())
    assert.ok(r.ok)
    assert.equal(nodeSpec(r.object).podCIDR, '10.244.1.0/24')
  })

  const refusals: Array<[string, Record<string, unknown>, KubeObject | undefined, KubeObject | undefined, string]> = [
    // what, spec, previous, ClusterConfig, message
    ['a changed range', { podCIDR: '10.244.9.0/24' }, stored('n', { podCIDR: '10.244.7.0/24' }), clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid'],
    ['a changed range in podCIDRs', { podCIDRs: ['10.244.9.0/24'] }, stored('n', { podCIDR: '10.244.7.0/24' }), clusterConfig(),
      'Node "n" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'],
    ['a range another node holds', { podCIDR: '10.244.2.0/24' }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: "10.244.2.0/24": provided range is already allocated to node "c"'],
    ['a range outside the cluster CIDR', { podCIDR: '10.245.0.0/24' }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: "10.245.0.0/24": must lie inside the cluster CIDR 10.244.0.0/16'],
    ['a range of the wrong size', { podCIDR: '10.244.8.0/25' }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: "10.244.8.0/25": must be a /24, the node CIDR mask size of the cluster CIDR 10.244.0.0/16'],
    ['a range with host bits set', { podCIDR: '10.244.8.1/24' }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: "10.244.8.1/24": must be a network address, with its host bits zero (10.244.8.0/24)'],
    ['something that is no CIDR', { podCIDR: 'ten' }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: "ten": must be a valid IPv4 CIDR (e.g. 10.244.1.0/24)'],
    ['a podCIDR that is not a string', { podCIDR: 7 }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDR: Invalid value: 7: must be a string'],
    ['two ranges', { podCIDRs: ['10.244.8.0/24', '10.244.9.0/24'] }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDRs: Invalid value: ["10.244.8.0/24","10.244.9.0/24"]: may specify no more than one CIDR for each IP family'],
    ['podCIDRs that disagree with podCIDR', { podCIDR: '10.244.8.0/24', podCIDRs: ['10.244.9.0/24'] }, undefined, clusterConfig(),
      'Node "n" is invalid: spec.podCIDRs: Invalid value: ["10.244.9.0/24"]: must match spec.podCIDR "10.244.8.0/24"'],
    ['a range asked for before the ClusterConfig exists', { podCIDR: '10.244.8.0/24' }, undefined, undefined,
      'Node "n" is invalid: spec.podCIDR: Invalid value: "10.244.8.0/24": the cluster CIDR is not configured yet; leave spec.podCIDR empty and a range is allocated once it is']
  ]
  for (const [what, spec, previous, config, message] of refusals) {
    it(`refuses ${what}`, () => {
      const r = allocatePodCIDR(nodeInput('n', spec), previous, held, config)
      assert.ok(!r.ok)
      assert.equal(r.code, 422)
      assert.equal(r.reason, 'Invalid')
      assert.equal(r.message, message)
    })
  }

  it('takes a free range given on create, of the right size, inside the cluster CIDR', () => {
    const r = allocatePodCIDR(nodeInput('n', { podCIDR: '10.244.200.0/24' }), undefined, held, clusterConfig())
    assert.ok(r.ok)
    assert.deepEqual(r.object.spec, { podCIDR: '10.244.200.0/24', podCIDRs: ['10.244.200.0/24'] })
    const fromList = allocatePodCIDR(nodeInput('n', { podCIDRs: ['10.244.201.0/24'] }), undefined, held, clusterConfig())
    assert.ok(fromList.ok)
    assert.deepEqual(fromList.object.spec, { podCIDR: '10.244.201.0/24', podCIDRs: ['10.244.201.0/24'] })
  })
})

// ---------------------------------------------------------------- through the store, as entries apply

const createNode = (name: string, spec: Record<string, unknown> = {}): ObjectCommand => ({ op: 'create', resource: 'nodes', object: nodeInput(name, spec), uid: `uid-${name}`, now: NOW })
const updateNode = (object: ObjectInput): ObjectCommand => ({ op: 'update', resource: 'nodes', object, now: NOW })
const deleteNode = (name: string): ObjectCommand => ({ op: 'delete', resource: 'nodes', namespace: '', name })
const createConfig = (spec: Record<string, unknown> = { voters: 3, clusterCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 24 }): ObjectCommand =>
  ({ op: 'create', resource: CLUSTER_CONFIG.resource, object: { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG.name }, spec }, uid: 'uid-cc', now: NOW })

function ok (r: Result): KubeObject {
  if (!r.ok) assert.fail(`expected success, got ${r.reason}: ${r.message}`)
  return r.object
}

/** A store that applies commands at consecutive indexes. */
function storeApplying (): { store: ObjectStore, apply: (c: ObjectCommand) => Result } {
  const store = new ObjectStore()
  let index = 0
  return { store, apply: c => store.apply(++index, c) }
}

const rangeOf = (store: ObjectStore, name: string): string | undefined => nodeSpec(store.get('nodes', '', name) ?? {}).podCIDR

describe('pod ranges, allocated as entries apply', () => {
  it('gives each Node the lowest free range in the order the entries apply, and a deleted Node\'s range to the next one', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig()))
    for (const n of ['n1', 'n2', 'n3']) ok(apply(createNode(n)))
    assert.deepEqual(['n1', 'n2', 'n3'].map(n => rangeOf(store, n)), ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24'])
    assert.deepEqual(nodeSpec(store.get('nodes', '', 'n2')!).podCIDRs, ['10.244.1.0/24'])
    ok(apply(deleteNode('n2')))
    ok(apply(createNode('n4')))
    assert.equal(rangeOf(store, 'n4'), '10.244.1.0/24', 'the range n2 left is handed out again')
    ok(apply(createNode('n5')))
    assert.equal(rangeOf(store, 'n5'), '10.244.3.0/24')
  })

  it('never gives two creates of one batch the same range', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig()))
    const r = store.apply(2, { op: 'batch', commands: [createNode('a'), createNode('b')] }) as BatchResult
    assert.ok(r.ok)
    assert.deepEqual(r.results.map(x => nodeSpec(ok(x)).podCIDR), ['10.244.0.0/24', '10.244.1.0/24'])
  })

  it('gives no range before the ClusterConfig is written; the first write after it allocates, from its CIDR', () => {
    const { store, apply } = storeApplying()
    const early = ok(apply(createNode('n1')))
    assert.equal(nodeSpec(early).podCIDR, undefined)
    ok(apply(createConfig({ voters: 3, clusterCIDR: '10.200.0.0/16', nodeCIDRMaskSize: 24 })))
    const later = ok(apply(updateNode(early)))
    assert.equal(nodeSpec(later).podCIDR, '10.200.0.0/24')
    assert.equal(later.metadata.generation, 2, 'the spec changed')
    assert.equal(rangeOf(store, 'n1'), '10.200.0.0/24')
  })

  it('stores a Node without a range when the cluster CIDR is full, and allocates on a later update once one is free', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig({ voters: 3, clusterCIDR: '10.244.0.0/23', nodeCIDRMaskSize: 24 })))
    ok(apply(createNode('a')))
    ok(apply(createNode('b')))
    const c = ok(apply(createNode('c')))
    assert.equal(nodeSpec(c).podCIDR, undefined)
    const rv = store.resourceVersion
    const again = apply(updateNode(c))
    assert.equal(ok(again), c, 'an update that allocates nothing changes nothing')
    ok(apply(deleteNode('a')))
    assert.equal(nodeSpec(ok(apply(updateNode(c)))).podCIDR, '10.244.0.0/24')
    assert.notEqual(store.resourceVersion, rv)
  })

  it('keeps the range through a replace that leaves it out, a merge patch that removes it and a status write', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig()))
    ok(apply(createNode('n1')))
    const replaced = ok(apply(updateNode(nodeInput('n1', { unschedulable: true }))))
    assert.deepEqual(replaced.spec, { unschedulable: true, podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] })
    ok(apply({ op: 'patch', resource: 'nodes', namespace: '', name: 'n1', patch: { spec: { podCIDR: null, podCIDRs: null } }, now: NOW }))
    assert.equal(rangeOf(store, 'n1'), '10.244.0.0/24')
    ok(apply({ op: 'update', resource: 'nodes', object: { ...nodeInput('n1'), spec: {}, status: { phase: 'Pending' } }, now: NOW, scope: 'status' }))
    assert.equal(rangeOf(store, 'n1'), '10.244.0.0/24')
  })

  it('refuses a changed, outside, wrong-size or held range with 422, writing nothing', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig()))
    ok(apply(createNode('n1')))
    ok(apply(createNode('n2')))
    const before = store.snapshot()
    const refused: Array<[ObjectCommand, RegExp]> = [
      [updateNode(nodeInput('n1', { podCIDR: '10.244.5.0/24' })), /^Node "n1" is invalid: spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid$/],
      [{ op: 'patch', resource: 'nodes', namespace: '', name: 'n1', patch: { spec: { podCIDR: '10.244.5.0/24' } }, now: NOW }, /spec.podCIDR: Forbidden/],
      [createNode('n3', { podCIDR: '10.244.1.0/24' }), /spec.podCIDR: Invalid value: "10.244.1.0\/24": provided range is already allocated to node "n2"/],
      [createNode('n3', { podCIDR: '192.168.0.0/24' }), /must lie inside the cluster CIDR 10.244.0.0\/16/],
      [createNode('n3', { podCIDR: '10.244.8.0/23' }), /must be a \/24/]
    ]
    for (const [command, message] of refused) {
      const r = apply(command)
      assert.ok(!r.ok)
      assert.equal(r.code, 422)
      assert.match(r.message, message)
    }
    assert.equal(store.get('nodes', '', 'n3'), undefined)
    assert.equal(store.snapshot().replace(/"resourceVersion":\d+/, ''), before.replace(/"resourceVersion":\d+/, ''), 'nothing was written')
  })

  it('a refused range fails its whole batch', () => {
    const { store, apply } = storeApplying()
    ok(apply(createConfig()))
    ok(apply(createNode('n1')))
    const r = store.apply(3, { op: 'batch', commands: [createNode('n2'), createNode('n3', { podCIDR: '10.244.0.0/24' })] }) as BatchResult
    assert.ok(!r.ok)
    assert.equal(store.get('nodes', '', 'n2'), undefined)
  })

  it('every replica that applies the same entries holds the same ranges', () => {
    const commands: ObjectCommand[] = [createNode('x'), createConfig(), createNode('a'), createNode('b'), deleteNode('a'), createNode('c'), createNode('d', { podCIDR: '10.244.9.0/24' })]
    const snapshots = [0, 1].map(() => {
      const { store, apply } = storeApplying()
      for (const c of commands) apply(c)
      return store.snapshot()
    })
    assert.equal(snapshots[0], snapshots[1])
    const restored = ObjectStore.restore(snapshots[0]!)
    assert.deepEqual(['x', 'b', 'c', 'd'].map(n => rangeOf(restored, n)), [undefined, '10.244.1.0/24', '10.244.0.0/24', '10.244.9.0/24'])
  })
})
