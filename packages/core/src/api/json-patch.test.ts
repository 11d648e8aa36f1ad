import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applyJsonPatch, parsePointer } from './json-patch.ts'
import { deepFreeze } from '../store/merge-patch.ts'

describe('parsePointer', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['/', ['']],
    ['/a/b', ['a', 'b']],
    ['/a~1b', ['a/b']],
    ['/m~0n', ['m~n']],
    ['/~01', ['~1']],
    ['/metadata/annotations/deployment.kubernetes.io~1revision', ['metadata', 'annotations', 'deployment.kubernetes.io/revision']]
  ]
  for (const [pointer, tokens] of cases) {
    it(JSON.stringify(pointer), () => assert.deepEqual(parsePointer(pointer), tokens))
  }
})

describe('applyJsonPatch', () => {
  // RFC 6902 Appendix A (the successful examples): [doc, ops, result].
  const ok: Array<[string, unknown, unknown[], unknown]> = [
    ['A.1 add an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { foo: 'bar', baz: 'qux' }],
    ['A.2 add an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['A.3 remove an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['A.4 remove an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['A.5 replace a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    ['A.6 move a value', { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }], { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } }],
    ['A.7 move an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] }],
    ['A.8 test succeeds', { baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }],
      { baz: 'qux', foo: ['a', 2, 'c'] }],
    ['A.10 add a nested member', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['A.14 ~ escapes', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['A.16 append with -', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
    ['copy', { a: { b: 1 } }, [{ op: 'copy', from: '/a', path: '/c' }], { a: { b: 1 }, c: { b: 1 } }],
    ['replace the whole document', { a: 1 }, [{ op: 'replace', path: '', value: [1] }], [1]],
    ['add at the end index', { a: [1] }, [{ op: 'add', path: '/a/1', value: 2 }], { a: [1, 2] }],
    ['__proto__ is a plain key', {}, [{ op: 'add', path: '/__proto__', value: { x: 1 } }], JSON.parse('{"__proto__":{"x":1}}')]
  ]
  for (const [name, doc, ops, want] of ok) {
    it(name, () => {
      const r = applyJsonPatch(deepFreeze(doc), deepFreeze(ops))
      assert.ok(r.ok, r.ok ? '' : r.message)
      assert.deepEqual(r.value, want)
    })
  }

  it('kubectl rollout undo (§3.12) replaces the template and the annotations', () => {
    const current = deepFreeze({
      metadata: { name: 'first-app', annotations: { 'deployment.kubernetes.io/revision': '3' }, generation: 3 },
      spec: { replicas: 3, template: { metadata: { labels: { app: 'first-app' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } }
    })
    const oldTemplate = { metadata: { labels: { app: 'first-app' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } }
    const body = [
      { op: 'replace', path: '/spec/template', value: oldTemplate },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '2' } }
    ]
    const r = applyJsonPatch(current, JSON.parse(JSON.stringify(body)))
    assert.ok(r.ok, r.ok ? '' : r.message)
    assert.deepEqual(r.value, {
      metadata: { name: 'first-app', annotations: { 'deployment.kubernetes.io/revision': '2' }, generation: 3 },
      spec: { replicas: 3, template: oldTemplate }
    })
    assert.equal(current.spec.template.spec.containers[0]!.image, 'nginx:1.27', 'input untouched')
  })

  it('rollout undo fails on a Deployment without annotations (replace needs the path, §0.8)', () => {
    const r = applyJsonPatch({ metadata: { name: 'x' }, spec: { template: {} } }, [
      { op: 'replace', path: '/spec/template', value: {} },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '2' } }
    ])
    assert.deepEqual(r, { ok: false, message: 'operation 1 (replace /metadata/annotations): path not found' })
  })

  const bad: Array<[string, unknown, unknown, RegExp]> = [
    ['A.9 test fails', { baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }], /^operation 0 \(test \/baz\): test failed/],
    ['A.12 add to a missing parent', { foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }], /^operation 0 \(add \/baz\/bat\): path not found/],
    ['A.15 test compares types', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }], /test failed/],
    ['remove a missing key', { a: 1 }, [{ op: 'add', path: '/b', value: 2 }, { op: 'remove', path: '/c' }], /^operation 1 \(remove \/c\): path not found/],
    ['array index out of bounds', { a: [1] }, [{ op: 'add', path: '/a/2', value: 3 }], /index 2 is out of bounds/],
    ['leading zero index', { a: [1, 2] }, [{ op: 'replace', path: '/a/01', value: 3 }], /"01" is not an array index/],
    ['move into own child', { a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /own children/],
    ['missing value', {}, [{ op: 'add', path: '/a' }], /"value" is required/],
    ['missing from', {}, [{ op: 'copy', path: '/a' }], /"from" must be a string/],
    ['unknown op', {}, [{ op: 'frob', path: '/a' }], /^operation 0 \(frob \/a\): unknown op "frob"/],
    ['bad pointer', {}, [{ op: 'add', path: 'a', value: 1 }], /must be empty or start with "\/"/],
    ['bad escape', { 'a~2': 1 }, [{ op: 'remove', path: '/a~2' }], /invalid ~ escape/],
    ['not a list', {}, { op: 'add' }, /must be an array/],
    ['op not an object', {}, [1], /^operation 0 \(not an object\)/]
  ]
  for (const [name, doc, ops, re] of bad) {
    it(`fails: ${name}`, () => {
      const r = applyJsonPatch(doc, ops)
      assert.equal(r.ok, false)
      assert.match(r.ok ? '' : r.message, re)
    })
  }

  it('a failing patch leaves nothing half-applied', () => {
    const doc = { a: 1 }
    const r = applyJsonPatch(doc, [{ op: 'add', path: '/b', value: 2 }, { op: 'remove', path: '/zzz' }])
    assert.equal(r.ok, false)
    assert.deepEqual(doc, { a: 1 })
  })
})
