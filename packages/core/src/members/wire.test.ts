import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { checkNodeName, parseGossipMessage } from './wire.ts'

describe('parseGossipMessage', () => {
  const info = { name: 'n1', peerId: '12D3KooW', addrs: ['/ip4/127.0.0.1/tcp/7946'], api: '127.0.0.1:6443', capacity: { cpus: 2, memoryBytes: 10 }, version: '0.1.0' }
  const cases: Array<[unknown, string | undefined]> = [
    [{ type: 'alive', info, incarnation: 1 }, undefined],
    [{ type: 'suspect', name: 'n1', incarnation: 1, from: 'n2' }, undefined],
    [{ type: 'leave', name: 'n1', incarnation: 1, reason: 'shutdown' }, undefined],
    [null, 'message: must be an object'],
    [{ type: 'alive', info, incarnation: -1 }, 'incarnation: must be a non-negative integer'],
    [{ type: 'alive', info: { ...info, name: 'Bad_Name' }, incarnation: 1 }, 'info.name: must be a valid node name'],
    [{ type: 'alive', info: { ...info, addrs: 'x' }, incarnation: 1 }, 'info.addrs: must be a list of multiaddrs'],
    [{ type: 'alive', info: { ...info, capacity: { cpus: 1.5, memoryBytes: 1 } }, incarnation: 1 }, 'info.capacity: must have integer cpus and memoryBytes, and pods (at most 10000) if any'],
    [{ type: 'alive', info: { ...info, capacity: { cpus: 2, memoryBytes: 10, pods: 300 } }, incarnation: 1 }, undefined],
    [{ type: 'alive', info: { ...info, capacity: { cpus: 2, memoryBytes: 10, pods: 10_001 } }, incarnation: 1 }, 'info.capacity: must have integer cpus and memoryBytes, and pods (at most 10000) if any'],
    [{ type: 'alive', info: { ...info, runtime: { ready: false, message: 'docker is down' } }, incarnation: 1 }, undefined],
    [{ type: 'alive', info: { ...info, runtime: { ready: true, engine: 'ABCD:EFGH' } }, incarnation: 1 }, undefined],
    [{ type: 'alive', info: { ...info, runtime: { ready: 'no' } }, incarnation: 1 }, 'info.runtime: must be { ready: boolean, message?: string, engine?: string }'],
    [{ type: 'alive', info: { ...info, runtime: { ready: true, engine: 7 } }, incarnation: 1 }, 'info.runtime: must be { ready: boolean, message?: string, engine?: string }'],
    [{ type: 'alive', info: { ...info, proxy: { failures: [{ service: 'default/web', message: 'listen tcp 127.0.0.1:80: address already in use' }] } }, incarnation: 1 }, undefined],
    [{ type: 'alive', info: { ...info, proxy: { failures: [{ service: 'default/web' }] } }, incarnation: 1 }, 'info.proxy: must be { failures: [{ service, message }] } with at most 32 failures'],
    [{ type: 'dead', name: 'n1', incarnation: 1 }, 'from: must be a valid node name'],
    [{ type: 'leave', name: 'n1', incarnation: 1, reason: 'bored' }, 'reason: must be leave or shutdown'],
    [{ type: 'gossip', incarnation: 1 }, 'type: unknown message type "gossip"']
  ]
  for (const [input, error] of cases) {
    it(`${JSON.stringify(input)} → ${error ?? 'ok'}`, () => {
      const r = parseGossipMessage(input)
      assert.equal(r.ok ? undefined : r.error, error)
      if (r.ok) assert.deepEqual(r.value, input, 'what was sent comes out whole')
    })
  }
})

describe('checkNodeName', () => {
  for (const [name, ok] of [['node-1', true], ['a', true], ['web.example', true], ['Node1', false], ['-x', false], ['x-', false], ['', false], ['a'.repeat(254), false]] as const) {
    it(`${JSON.stringify(name.slice(0, 20))} is ${ok ? 'valid' : 'invalid'}`, () => assert.equal(checkNodeName(name) === undefined, ok))
  }
})
