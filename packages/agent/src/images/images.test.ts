import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ObjectStore, type Member } from '@shoal/core'
import type { EngineImage } from '@shoal/core/images/inventory.ts'
import type { Command, Result } from '@shoal/core/store/types.ts'
import { createSilentLogger } from '../log.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import { createClusterImages } from './images.ts'
import { ImageTransferError, type ImageStore, type fetchImage } from './transfer.ts'

/**
 * The cluster-images module over a real store, with the engine and the
 * transfer stood in for (transfer.test.ts and test/images.test.ts have the
 * real ones): what it reports, which holder it asks, and what it does when a
 * holder fails.
 */

const ID = `sha256:${'a'.repeat(64)}`
const T = '2026-01-01T00:00:00Z'

function member (name: string, state: Member['state'] = 'alive'): Member {
  return { name, peerId: `peer-${name}`, addrs: [`/ip4/10.0.0.${name.length}/tcp/7946`], api: '10.0.0.1:6443', capacity: { cpus: 1, memoryBytes: 1 }, version: '0', state, incarnation: 1, lastSeenMs: 0, stateSinceMs: 0 }
}

function setup (opts: { holders: string[], members: Member[], engine?: EngineImage[], fetch: typeof fetchImage }) {
  const store = new ObjectStore()
  let index = 0
  const apply = (cmd: Command): Result => store.apply(++index, cmd) as Result
  for (const name of ['self', ...opts.holders]) {
    const r = apply({ op: 'create', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } }, uid: `uid-${name}`, now: T })
    assert.ok(r.ok)
  }
  for (const name of opts.holders) apply({ op: 'patch', resource: 'nodes', namespace: '', name, patch: { status: { images: [{ names: ['app:1', ID], sizeBytes: 10 }] } }, now: T, scope: 'status' })
  const tagged: string[] = []
  const engine = opts.engine ?? []
  const dir = mkdtempSync(join(tmpdir(), 'shoal-images-'))
  const images = createClusterImages({
    node: 'self',
    mesh: {} as MeshNode,
    runtime: { images: async () => engine, imageID: async () => undefined, tagImage: async (id, image) => { tagged.push(`${id} ${image}`) } },
    imageStore: {} as ImageStore,
    store: () => store,
    write: async cmd => apply(cmd),
    members: () => opts.members,
    tmpDir: dir,
    log: createSilentLogger(),
    now: () => T,
    fetchImage: opts.fetch
  })
  return { store, images, tagged, cleanup: () => { rmSync(dir, { recursive: true, force: true }) } }
}

describe('cluster images', () => {
  it('reports the engine\'s tagged images in its own Node\'s status, and writes nothing when they did not change', async () => {
    const t = setup({ holders: [], members: [], engine: [{ id: ID, tags: ['web:1'], sizeBytes: 5 }], fetch: async () => { throw new Error('unused') } })
    try {
      await t.images.refresh()
      assert.deepEqual((t.store.get('nodes', '', 'self')?.status as { images: unknown }).images, [{ names: ['web:1', ID], sizeBytes: 5 }])
      const rv = t.store.resourceVersion
      await t.images.refresh()
      assert.equal(t.store.resourceVersion, rv, 'no second write')
    } finally { t.cleanup() }
  })

  it('fetches from a holder, tags the image with the name asked for, and shares one transfer among everyone asking at once', async () => {
    const asked: string[] = []
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const t = setup({
      holders: ['h1'],
      members: [member('h1')],
      fetch: async (_node, peer, id) => { asked.push(`${peer.name} ${id}`); await gate; return { bytes: 10 } }
    })
    try {
      const a = t.images.fetch('app:1')
      const b = t.images.fetch('app:1')
      release()
      const [ra, rb] = await Promise.all([a, b])
      assert.deepEqual(asked, [`h1 ${ID}`], 'one transfer')
      assert.equal(ra.ok && ra.from, 'h1')
      assert.deepEqual(ra, rb)
      assert.deepEqual(t.tagged, [`${ID} app:1`])
    } finally { t.cleanup() }
  })

  it('a holder that fails (gone, busy, refused) is skipped for the next; a holder that is not an alive member is not dialled', async () => {
    const asked: string[] = []
    const t = setup({
      holders: ['h1', 'h2', 'h3'],
      members: [member('h1'), member('h2', 'dead'), member('h3')],
      fetch: async (_node, peer) => {
        asked.push(peer.name)
        if (asked.length === 1) throw new ImageTransferError('broken', `the transfer from node ${peer.name} broke off`)
        return { bytes: 10 }
      }
    })
    try {
      const got = await t.images.fetch('app:1')
      assert.equal(asked.length, 2)
      assert.ok(!asked.includes('h2'), 'a dead member is not dialled')
      assert.ok(got.ok)
      assert.equal(got.from, asked[1])
    } finally { t.cleanup() }
  })

  it('a busy holder (serving as many as it will) is asked again shortly, not given up on', async () => {
    const asked: string[] = []
    const t = setup({
      holders: ['h1'],
      members: [member('h1')],
      fetch: async (_node, peer) => {
        asked.push(peer.name)
        if (asked.length <= 2) throw new ImageTransferError('busy', `node ${peer.name} is serving as many transfers as it will`)
        return { bytes: 10 }
      }
    })
    try {
      const got = await t.images.fetch('app:1')
      assert.deepEqual(asked, ['h1', 'h1', 'h1'])
      assert.ok(got.ok)
    } finally { t.cleanup() }
  })

  it('says why when no node holds the image, or every holder failed', async () => {
    const none = setup({ holders: [], members: [], fetch: async () => { throw new Error('unused') } })
    try {
      assert.deepEqual(await none.images.fetch('app:1'), { ok: false, reason: 'none', message: 'no other node holds app:1' })
    } finally { none.cleanup() }
    const t = setup({
      holders: ['h1'],
      members: [member('h1')],
      fetch: async () => { throw new ImageTransferError('refused', 'the image from node h1 failed its digest check') }
    })
    try {
      const got = await t.images.fetch('app:1')
      assert.equal(got.ok, false)
      assert.equal(!got.ok && got.reason, 'failed')
      assert.match(!got.ok ? got.message : '', /every node holding app:1 .* failed: the image from node h1 failed its digest check/)
      assert.deepEqual(t.tagged, [])
    } finally { t.cleanup() }
  })
})
