import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ObjectStore, type Member } from '@shoal/core'
import type { EngineImage } from '@shoal/core/images/inventory.ts'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
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

function setup (opts: { holders: string[], members: Member[], engine?: EngineImage[], fetch: typeof fetchImage, untag?: (image: string) => 'removed' | 'in-use' }) {
  const store = new ObjectStore()
  let index = 0
  const apply = (cmd: Command): Result => store.apply(++index, cmd) as Result
  for (const name of ['self', ...opts.holders]) {
    const r = apply({ op: 'create', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } }, uid: `uid-${name}`, now: T })
    assert.ok(r.ok)
  }
  for (const name of opts.holders) apply({ op: 'patch', resource: 'nodes', namespace: '', name, patch: { status: { images: [{ names: ['app:1', ID], sizeBytes: 10 }] } }, now: T, scope: 'status' })
  const tagged: string[] = []
  const untagged: string[] = []
  const engine = opts.engine ?? []
  const dir = mkdtempSync(join(tmpdir(), 'shoal-images-'))
  const images = createClusterImages({
    node: 'self',
    mesh: {} as MeshNode,
    runtime: {
      images: async () => engine,
      imageID: async () => undefined,
      tagImage: async (id, image) => {
        tagged.push(`${id} ${image}`)
        const i = engine.findIndex(e => e.id === id)
        if (i >= 0 && !engine[i]!.tags.includes(image)) engine[i] = { ...engine[i]!, tags: [...engine[i]!.tags, image] }
      },
      untagImage: async image => {
        const done = opts.untag?.(image) ?? 'removed'
        untagged.push(`${image} ${done}`)
        const i = engine.findIndex(e => e.tags.includes(image))
        if (done === 'removed' && i >= 0) engine[i] = { ...engine[i]!, tags: engine[i]!.tags.filter(t => t !== image) }
        return done
      }
    },
    imageStore: { size: async id => engine.find(i => i.id === id)?.sizeBytes } as ImageStore,
    store: () => store,
    // As ReplicatedStore.write does: the proposer chooses a create's uid.
    write: async cmd => apply(withProposerFields(cmd, { now: T, uid: randomUUID })),
    members: () => opts.members,
    tmpDir: dir,
    log: createSilentLogger(),
    now: () => T,
    fetchImage: opts.fetch
  })
  return { store, images, tagged, untagged, engine, cleanup: () => { rmSync(dir, { recursive: true, force: true }) } }
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

  it('a holder declared dead mid-transfer is given up at once for the next, without waiting for its connection to fail', async () => {
    const asked: string[] = []
    const members = [member('h1'), member('h2')]
    const t = setup({
      holders: ['h1', 'h2'],
      members,
      fetch: async (_node, peer, _id, _store, opts) => {
        asked.push(peer.name)
        if (asked.length > 1) return { bytes: 10 }
        opts.onProgress?.(1, 10)
        // The first holder's power goes: gossip declares it dead; its stream would hang.
        const i = members.findIndex(x => x.name === peer.name)
        members[i] = { ...members[i]!, state: 'dead' }
        return await new Promise((_resolve, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason), { once: true }))
      }
    })
    try {
      const started = performance.now()
      const got = await t.images.fetch('app:1')
      assert.ok(got.ok)
      assert.equal(got.from, asked[1])
      assert.notEqual(asked[0], asked[1])
      assert.ok(performance.now() - started < 5000, 'given up within the holder check, not a connection timeout')
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

  it('tells the pods waiting for a transfer where it comes from and how far it got, every one of them', async () => {
    const seen: string[] = []
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const t = setup({
      holders: ['h1'],
      members: [member('h1')],
      fetch: async (_node, _peer, _id, _store, opts) => {
        await gate
        opts.onProgress?.(4, 10)
        opts.onProgress?.(10, 10)
        return { bytes: 10 }
      }
    })
    const watcher = (who: string) => ({
      onStart: (from: string, total: number | undefined) => { seen.push(`${who} start ${from} ${String(total)}`) },
      onProgress: (from: string, received: number) => { seen.push(`${who} ${from} ${received}`) }
    })
    try {
      const a = t.images.fetch('app:1', watcher('a'))
      const b = t.images.fetch('app:1', watcher('b'))
      release()
      await Promise.all([a, b])
      assert.deepEqual(seen.sort(), ['a h1 10', 'a h1 4', 'a start h1 10', 'b h1 10', 'b h1 4', 'b start h1 10'])
    } finally { t.cleanup() }
  })
})

describe('cluster images: push and rm', () => {
  const OTHER = `sha256:${'b'.repeat(64)}`
  const record = (t: ReturnType<typeof setup>, key: string): unknown => {
    const listed = t.store.list('clusterimages', {})
    return listed.ok ? listed.items.find(o => (o.spec as { image: string }).image === key)?.spec : undefined
  }

  it('a push of an image this node\'s engine holds pins its name to it, named as pushed, and later fetches take the pushed one over the one more nodes hold', async () => {
    const asked: string[] = []
    const t = setup({
      holders: ['h1', 'h2'],
      members: [member('h1'), member('h2'), member('h3')],
      engine: [{ id: OTHER, tags: ['build:7'], sizeBytes: 3 }],
      fetch: async (_node, peer, id) => { asked.push(`${peer.name} ${id}`); return { bytes: 3 } }
    })
    try {
      const out = await t.images.push('app:1', OTHER)
      assert.deepEqual(t.tagged, [`${OTHER} app:1`])
      assert.deepEqual(out, { image: 'app:1', id: OTHER, uploaded: false, nodes: ['self'] })
      assert.deepEqual(record(t, 'app:1'), { image: 'app:1', id: OTHER, withdrawn: [] })
      // Another node asks: its view is this store, where self now holds OTHER under app:1.
      const other = createClusterImages({ node: 'h3', mesh: {} as MeshNode, runtime: { images: async () => [], imageID: async () => undefined, tagImage: async () => {}, untagImage: async () => 'absent' }, imageStore: {} as ImageStore, store: () => t.store, write: async () => { throw new Error('unused') }, members: () => [member('self'), member('h1'), member('h2')], tmpDir: join(tmpdir(), 'shoal-images-h3'), log: createSilentLogger(), fetchImage: async (_node, peer, id) => { asked.push(`${peer.name} ${id}`); return { bytes: 3 } } })
      const got = await other.fetch('app:1')
      assert.ok(got.ok)
      assert.deepEqual(asked, [`self ${OTHER}`], 'the pushed ID, from the one node holding it, though two hold another')
    } finally { t.cleanup() }
  })

  it('a push of an image no node holds is refused as NotFound (the client then sends the archive), and a bad name or ID changes nothing', async () => {
    const t = setup({ holders: [], members: [], fetch: async () => { throw new Error('unused') } })
    try {
      await assert.rejects(t.images.push('app:1', OTHER), (err: Error & { code?: number }) => err.code === 404 && /does not hold image .*push its archive/.test(err.message))
      await assert.rejects(t.images.push('Bad Name', OTHER), /not an image name/)
      await assert.rejects(t.images.push('app:1', 'sha256:nope'), /not an image ID/)
      assert.equal(record(t, 'app:1'), undefined)
    } finally { t.cleanup() }
  })

  it('rm withdraws every ID the name has: nobody fetches it, this node drops the name where no container uses it, and does not serve what it keeps', async () => {
    let inUse = false
    const t = setup({
      holders: ['h1'],
      members: [member('h1')],
      engine: [{ id: ID, tags: ['app:1'], sizeBytes: 10 }, { id: OTHER, tags: ['keep:1'], sizeBytes: 3 }],
      fetch: async () => { throw new Error('nothing is fetched') },
      untag: () => inUse ? 'in-use' : 'removed'
    })
    try {
      await t.images.refresh()
      assert.deepEqual(await t.images.remove('app:1'), { image: 'app:1', withdrawn: [ID] })
      assert.deepEqual(record(t, 'app:1'), { image: 'app:1', withdrawn: [ID] })
      await t.images.refresh()
      assert.deepEqual(t.untagged, ['app:1 removed'], 'the name went, the other image stayed')
      assert.deepEqual(await t.images.fetch('app:1'), { ok: false, reason: 'none', message: 'no other node holds app:1' })
      inUse = true
      await t.images.refresh()
      assert.equal(await t.images.serves(ID), false, 'kept for a container, not served')
      assert.equal(await t.images.serves(OTHER), true)
      await assert.rejects(t.images.remove('nothing:1'), (err: Error & { code?: number }) => err.code === 404)
      // Pushed again: served again, and no longer dropped.
      await t.images.push('app:1', ID)
      assert.deepEqual(record(t, 'app:1'), { image: 'app:1', id: ID, withdrawn: [] })
      assert.equal(await t.images.serves(ID), true)
    } finally { t.cleanup() }
  })
})
