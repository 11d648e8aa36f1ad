import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applyMergePatch, cloneJson, deepFreeze, isJsonEqual } from './merge-patch.ts'

describe('applyMergePatch', () => {
  // RFC 7386 Appendix A, every example: [original, patch, result].
  const rfc: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }]
  ]
  for (const [target, patch, expected] of rfc) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(applyMergePatch(target, patch), expected)
    })
  }

  it('leaves the target and the patch untouched, and shares nothing with the patch', () => {
    const target = deepFreeze({ spec: { replicas: 1, template: { image: 'a' } }, status: { ready: 1 } })
    const patch = { spec: { replicas: 3, ports: [{ port: 80 }] } }
    const out = applyMergePatch(target, patch) as { spec: { ports: Array<{ port: number }> } }
    assert.deepEqual(out, { spec: { replicas: 3, template: { image: 'a' }, ports: [{ port: 80 }] }, status: { ready: 1 } })
    assert.deepEqual(target, { spec: { replicas: 1, template: { image: 'a' } }, status: { ready: 1 } })
    out.spec.ports[0]!.port = 81
    assert.equal(patch.spec.ports[0]!.port, 80)
  })

  it('keeps existing keys in place and appends new ones in patch order (same order on every replica)', () => {
    const out = applyMergePatch({ a: 1, b: 2, c: 3 }, { z: 0, b: 20, y: 0 })
    assert.deepEqual(Object.keys(out as object), ['a', 'b', 'c', 'z', 'y'])
  })

  it('treats __proto__ in a patch as a plain key, never as the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown
    const out = applyMergePatch({}, patch) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.ok(Object.hasOwn(out, '__proto__'))
    assert.equal(out.a, 1)
  })
})

describe('isJsonEqual', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 1, b: null }, false],
    [[1, 2], [2, 1], false],
    [{ a: [] }, { a: {} }, false],
    [undefined, undefined, true],
    [undefined, {}, false],
    [{ constructor: 1 }, { toString: 1 }, false],
    ['1', 1, false]
  ]
  for (const [a, b, equal] of cases) {
    it(`${JSON.stringify(a)} ${equal ? '==' : '!='} ${JSON.stringify(b)}`, () => {
      assert.equal(isJsonEqual(a, b), equal)
      assert.equal(isJsonEqual(b, a), equal)
    })
  }
})

describe('cloneJson and deepFreeze', () => {
  it('cloneJson copies deeply and drops undefined members', () => {
    const source = { a: { b: [1, { c: 2 }] }, d: undefined }
    const copy = cloneJson(source)
    assert.deepEqual(copy, { a: { b: [1, { c: 2 }] } })
    assert.notEqual(copy.a.b, source.a.b)
  })

  it('deepFreeze freezes nested objects and arrays', () => {
    const o = deepFreeze({ a: { b: [{ c: 1 }] } })
    assert.ok(Object.isFrozen(o.a.b[0]))
    assert.throws(() => { (o.a.b as unknown as Array<{ c: number }>)[0]!.c = 2 }, TypeError)
  })
})
