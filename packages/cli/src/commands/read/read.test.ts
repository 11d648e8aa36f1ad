import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { smartLabel } from './describe-core.ts'
import { formatQuantity, parseQuantity } from './describe-node.ts'
import { DescribeWriter, formatTime } from './describe-writer.ts'
import { formatSelector } from './obj.ts'
import { parseOutput, sortKeys, tableLayout, toJson, toYaml } from './output.ts'
import { kindPrefix, parseRequest } from './resources.ts'

describe('parseRequest: what kubectl accepts as resources', () => {
  const shape = (args: string[]): unknown => {
    const r = parseRequest('get', args)
    return { kinds: r.selections.map(s => `${s.kind.resource}:${s.names.join('+')}`), single: r.singleItem, multiple: r.multipleKinds }
  }
  for (const [args, expected] of [
    [['pods'], { kinds: ['pods:'], single: false, multiple: false }],
    [['po', 'web'], { kinds: ['pods:web'], single: true, multiple: false }],
    [['deploy/web'], { kinds: ['deployments:web'], single: true, multiple: false }],
    [['pod', 'a', 'b'], { kinds: ['pods:a+b'], single: false, multiple: false }],
    [['pods,svc'], { kinds: ['pods:', 'services:'], single: false, multiple: true }],
    [['pod/a', 'deploy/b', 'pod/c'], { kinds: ['pods:a+c', 'deployments:b'], single: false, multiple: true }],
    [['all'], { kinds: ['pods:', 'services:', 'deployments:', 'replicasets:'], single: false, multiple: true }],
    [['all,cm'], { kinds: ['pods:', 'services:', 'deployments:', 'replicasets:', 'configmaps:'], single: false, multiple: true }]
  ] as const) {
    it(args.join(' '), () => assert.deepEqual(shape([...args]), expected))
  }
  it('refuses what kubectl refuses', () => {
    assert.throws(() => parseRequest('get', []), /you must specify the type of resource to get/)
    assert.throws(() => parseRequest('get', ['foo']), /the server doesn't have a resource type "foo"/)
    assert.throws(() => parseRequest('get', ['pod', 'pod/x']), /no need to specify a resource type as a separate argument/)
  })
  it('prefixes names as kubectl does', () => {
    assert.equal(kindPrefix(parseRequest('get', ['deploy']).selections[0]!.kind), 'deployment.apps')
    assert.equal(kindPrefix(parseRequest('get', ['ep']).selections[0]!.kind), 'endpoints')
  })
})

describe('output', () => {
  it('-o values', () => {
    assert.equal(parseOutput(undefined), 'table')
    assert.equal(parseOutput('wide'), 'wide')
    assert.throws(() => parseOutput('xml'), /allowed formats are: json,name,wide,yaml/)
  })
  it('JSON and YAML sort keys at every level, as Go prints maps', () => {
    assert.deepEqual(Object.keys(sortKeys({ b: 1, a: { d: 1, c: 2 } }) as object), ['a', 'b'])
    assert.equal(toJson({ b: [1], a: { z: 1, y: 'x' } }), '{\n    "a": {\n        "y": "x",\n        "z": 1\n    },\n    "b": [\n        1\n    ]\n}\n')
    assert.equal(toYaml({ b: ['3600'], a: { t: '2026-11-25T22:09:06Z', y: 'on' } }), 'a:\n  t: "2026-11-25T22:09:06Z"\n  "y": "on"\nb:\n- "3600"\n')
  })
  it('a table layout: priority columns only when wide, NAMESPACE first, kind-prefixed names, LABELS last', () => {
    const columns = [{ name: 'Name', priority: 0, format: 'name' }, { name: 'Nominated Node', priority: 1, format: '' }, { name: 'Age', priority: 0, format: '' }]
    const row = { cells: ['web', '<none>', 5], object: { metadata: { namespace: 'team', labels: { b: '2', a: '1' } } } }
    const narrow = tableLayout(columns, { wide: false, withNamespace: false, showLabels: false })
    assert.deepEqual([narrow.header, narrow.row(row)], [['NAME', 'AGE'], ['web', '5']])
    const kind = parseRequest('get', ['pods']).selections[0]!.kind
    const wide = tableLayout(columns, { wide: true, withNamespace: true, kind, showLabels: true })
    assert.deepEqual([wide.header, wide.row(row)], [['NAMESPACE', 'NAME', 'NOMINATED NODE', 'AGE', 'LABELS'], ['team', 'pod/web', '<none>', '5', 'a=1,b=2']])
  })
})

describe('describe helpers', () => {
  it('smartLabel names fields as kubectl does', () => {
    for (const [field, label] of [['involvedObject', 'Involved Object'], ['apiVersion', 'API Version'], ['uid', 'UID'], ['firstTimestamp', 'First Timestamp'], ['podIP', 'Pod IP'], ['x.y', 'x.y']] as const) {
      assert.equal(smartLabel(field), label)
    }
  })
  it('quantities parse and print in their largest exact unit', () => {
    assert.deepEqual(parseQuantity('128Mi'), { value: 128 * 2 ** 20, binary: true })
    assert.equal(parseQuantity('250m').value, 0.25)
    assert.equal(parseQuantity('1e3').value, 1000)
    assert.equal(formatQuantity(0.25, false), '250m')
    assert.equal(formatQuantity(2, false), '2')
    assert.equal(formatQuantity(192 * 2 ** 20, true), '192Mi')
    assert.equal(formatQuantity(0, true), '0')
  })
  it('times print as Go\'s RFC1123Z, the zero time when missing', () => {
    assert.match(formatTime('2026-11-25T22:09:06Z'), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} 2026 \d{2}:\d{2}:06 [+-]\d{4}$/)
    assert.equal(formatTime(undefined), 'Mon, 01 Jan 0001 00:00:00 +0000')
  })
  it('selectors print sorted, <none> when absent', () => {
    assert.equal(formatSelector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['x', 'y'] }] }), 'a=1,b=2,c in (x,y)')
    assert.equal(formatSelector(undefined), '<none>')
  })
  it('labels, annotations and events print one per line, aligned', () => {
    const w = new DescribeWriter(Date.parse('2026-01-01T00:10:00Z'))
    w.field(0, 'Name', 'x')
    w.labels('Labels', { b: '2', a: '1' })
    w.annotations('Annotations', { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'hi' })
    w.events([
      { type: 'Warning', reason: 'BackOff', message: ' restarting ', source: { component: 'kubelet' }, count: 4, firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:09:00Z' },
      { type: 'Normal', reason: 'Pulled', message: 'pulled', source: { component: 'kubelet' }, count: 1, firstTimestamp: '2026-01-01T00:05:00Z', lastTimestamp: '2026-01-01T00:05:00Z' }
    ])
    assert.equal(w.toString(), [
      'Name:         x',
      'Labels:       a=1',
      '              b=2',
      'Annotations:  note: hi',
      'Events:',
      '  Type     Reason   Age                From     Message',
      '  ----     ------   ----               ----     -------',
      '  Normal   Pulled   5m                 kubelet  pulled',
      '  Warning  BackOff  60s (x4 over 10m)  kubelet  restarting',
      ''
    ].join('\n'))
    const none = new DescribeWriter(0)
    none.events([])
    assert.equal(none.toString(), 'Events:  <none>\n')
  })
})
