import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  formatLabelSelector, labelSelectorFromSpec, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector
} from './selectors.ts'
import type { LabelRequirement, LabelSelector, LabelSelectorSpec } from './types.ts'

const req = (key: string, operator: LabelRequirement['operator'], ...values: string[]): LabelRequirement => ({ key, operator, values })

function parsedLabels (text: string): LabelSelector {
  const r = parseLabelSelector(text)
  if (!r.ok) throw new Error(r.error)
  return r.value
}

describe('parseLabelSelector', () => {
  const valid: Array<[string, LabelSelector]> = [
    ['', []],
    ['   ', []],
    ['app=web', [req('app', 'equals', 'web')]],
    ['app==web', [req('app', 'equals', 'web')]],
    ['app!=web', [req('app', 'notEquals', 'web')]],
    ['app=', [req('app', 'equals', '')]],
    ['tier in (fe,be)', [req('tier', 'in', 'fe', 'be')]],
    ['tier in(fe , be)', [req('tier', 'in', 'fe', 'be')]],
    ['tier notin (db)', [req('tier', 'notIn', 'db')]],
    ['canary', [req('canary', 'exists')]],
    ['!canary', [req('canary', 'doesNotExist')]],
    ['! canary', [req('canary', 'doesNotExist')]],
    ['replicas>2', [req('replicas', 'greaterThan', '2')]],
    ['replicas<-1', [req('replicas', 'lessThan', '-1')]],
    [' app = web , tier in (fe),!canary,env ', [req('app', 'equals', 'web'), req('tier', 'in', 'fe'), req('canary', 'doesNotExist'), req('env', 'exists')]],
    ['app.kubernetes.io/name=web', [req('app.kubernetes.io/name', 'equals', 'web')]],
    ['x in (a,,b)', [req('x', 'in', 'a', '', 'b')]]
  ]
  for (const [text, expected] of valid) {
    it(`${JSON.stringify(text)} parses`, () => assert.deepEqual(parseLabelSelector(text), { ok: true, value: expected }))
  }

  const invalid: Array<[string, string]> = [
    ['app=web,', "found the end, expected a key"],
    [',app', "found ',', expected a key"],
    ['app=web=x', "found '=', expected ',' or the end"],
    ['app web', "found 'web', expected one of in, notin"],
    ['tier in fe', "found 'fe', expected '(' after 'in'"],
    ['tier in (fe', "found the end, expected ',' or ')'"],
    ['tier in (fe be)', "found 'be', expected ',' or ')'"],
    ['tier in ()', "'in' and 'notin' need at least one value"],
    ['!', "found the end, expected a key after '!'"],
    ['!app=x', "found '=', expected ',' or the end"],
    ['in=x', "found 'in', expected a key"],
    ['-app=x', 'key "-app": the name must be'],
    ['Bad.Prefix/app=x', 'key "Bad.Prefix/app": the prefix must be'],
    [`app=${'v'.repeat(64)}`, 'must be empty or 1-63'],
    ['app=x y', "found 'y', expected ',' or the end"],
    ['replicas>two', "'>' and '<' need an integer value"]
  ]
  for (const [text, error] of invalid) {
    it(`${JSON.stringify(text)} is refused: ${error}`, () => {
      const r = parseLabelSelector(text)
      assert.equal(r.ok, false)
      if (!r.ok) {
        assert.ok(r.error.startsWith(`invalid label selector ${JSON.stringify(text)}: `), r.error)
        assert.ok(r.error.includes(error), r.error)
      }
    })
  }
})

describe('matchesLabels', () => {
  const labels = { app: 'web', tier: 'fe', replicas: '3' }
  const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
    ['', undefined, true],
    ['app=web', labels, true],
    ['app=db', labels, false],
    ['app=web', undefined, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['tier in (fe,be)', labels, true],
    ['tier in (be)', labels, false],
    ['missing in (x)', labels, false],
    ['tier notin (be)', labels, true],
    ['tier notin (fe)', labels, false],
    ['missing notin (x)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['replicas>2', labels, true],
    ['replicas>3', labels, false],
    ['replicas<4', labels, true],
    ['app>1', labels, false],
    ['app=web,tier=fe', labels, true],
    ['app=web,tier=be', labels, false],
    ['app=', { app: '' }, true],
    ['app=', {}, false]
  ]
  for (const [text, l, expected] of cases) {
    it(`${JSON.stringify(text)} on ${JSON.stringify(l)} → ${expected}`, () => assert.equal(matchesLabels(parsedLabels(text), l), expected))
  }

  it('does not see inherited properties as labels', () => {
    assert.equal(matchesLabels(parsedLabels('constructor'), {}), false)
    assert.equal(matchesLabels(parsedLabels('!toString'), {}), true)
  })

  it('ignores labels whose value is not a string', () => {
    assert.equal(matchesLabels(parsedLabels('app'), { app: 1 }), false)
  })
})

describe('formatLabelSelector', () => {
  for (const text of ['app=web', 'app!=web', 'tier in (fe,be)', 'tier notin (db)', 'canary', '!canary', 'n>1', 'n<1', 'a=b,c in (d),!e']) {
    it(`${JSON.stringify(text)} round-trips`, () => {
      const selector = parsedLabels(text)
      assert.equal(formatLabelSelector(selector), text)
      assert.deepEqual(parsedLabels(formatLabelSelector(selector)), selector)
    })
  }
})

describe('labelSelectorFromSpec', () => {
  it('turns matchLabels and matchExpressions into requirements', () => {
    const spec: LabelSelectorSpec = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }, { key: 'canary', operator: 'DoesNotExist' }]
    }
    assert.deepEqual(labelSelectorFromSpec(spec), { ok: true, value: [req('app', 'equals', 'web'), req('tier', 'in', 'fe'), req('canary', 'doesNotExist')] })
  })

  const invalid: Array<[LabelSelectorSpec, string]> = [
    [{ matchExpressions: [{ key: 'a', operator: 'Gt' as 'In', values: ['1'] }] }, 'unknown operator "Gt"'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "'in' and 'notin' need at least one value"],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, "'Exists' takes no values"],
    [{ matchLabels: { 'bad key': 'x' } }, 'key "bad key"']
  ]
  for (const [spec, error] of invalid) {
    it(`${JSON.stringify(spec)} is refused: ${error}`, () => {
      const r = labelSelectorFromSpec(spec)
      assert.ok(!r.ok && r.error.includes(error), JSON.stringify(r))
    })
  }

  it('an empty selector matches everything', () => {
    const r = labelSelectorFromSpec({})
    assert.ok(r.ok && matchesLabels(r.value, { any: 'thing' }) && matchesLabels(r.value, undefined))
  })
})

describe('parseFieldSelector', () => {
  const valid: Array<[string, unknown]> = [
    ['', []],
    ['metadata.name=web', [{ path: 'metadata.name', operator: 'equals', value: 'web' }]],
    ['metadata.name==web', [{ path: 'metadata.name', operator: 'equals', value: 'web' }]],
    ['status.phase!=Running,spec.nodeName=', [
      { path: 'status.phase', operator: 'notEquals', value: 'Running' },
      { path: 'spec.nodeName', operator: 'equals', value: '' }]],
    ['a=x\\,y\\=z\\\\', [{ path: 'a', operator: 'equals', value: 'x,y=z\\' }]],
    ['a=b=c', [{ path: 'a', operator: 'equals', value: 'b=c' }]],
    ['a=b,', [{ path: 'a', operator: 'equals', value: 'b' }]]
  ]
  for (const [text, expected] of valid) {
    it(`${JSON.stringify(text)} parses`, () => assert.deepEqual(parseFieldSelector(text), { ok: true, value: expected }))
  }

  const invalid: Array<[string, string]> = [
    ['metadata.name', 'must be path=value, path==value or path!=value'],
    ['=x', 'is not a dotted field path'],
    ['spec..nodeName=x', 'is not a dotted field path'],
    ['a=\\x', 'invalid escape']
  ]
  for (const [text, error] of invalid) {
    it(`${JSON.stringify(text)} is refused: ${error}`, () => {
      const r = parseFieldSelector(text)
      assert.ok(!r.ok && r.error.startsWith(`invalid field selector ${JSON.stringify(text)}: `) && r.error.includes(error), JSON.stringify(r))
    })
  }
})

describe('matchesFields', () => {
  const pod = {
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'n1', replicas: 3, hostNetwork: false, containers: [{ image: 'x' }] },
    involvedObject: { uid: 'u-1' }
  }
  const unscheduled = { metadata: { name: 'web-2' }, spec: {} }
  const cases: Array<[string, unknown, boolean]> = [
    ['metadata.name=web-1', pod, true],
    ['metadata.name=web-2', pod, false],
    ['metadata.namespace=default', pod, true],
    ['metadata.namespace=', unscheduled, true],
    ['spec.nodeName=n1', pod, true],
    ['spec.nodeName!=n1', pod, false],
    ['spec.nodeName=', unscheduled, true],
    ['spec.nodeName=', pod, false],
    ['spec.nodeName!=', pod, true],
    ['spec.replicas=3', pod, true],
    ['spec.hostNetwork=false', pod, true],
    ['involvedObject.uid=u-1', pod, true],
    ['spec.containers=x', pod, false],
    ['spec.containers!=x', pod, true],
    ['metadata.name.x=', pod, false],
    ['metadata.name=web-1,spec.nodeName=n2', pod, false],
    ['spec.constructor=', unscheduled, true]
  ]
  for (const [text, object, expected] of cases) {
    it(`${JSON.stringify(text)} on ${(object as typeof pod).metadata.name} → ${expected}`, () => {
      const r = parseFieldSelector(text)
      assert.ok(r.ok)
      if (r.ok) assert.equal(matchesFields(r.value, object), expected)
    })
  }
})
