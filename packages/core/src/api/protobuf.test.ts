import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeK8sProtobuf } from './protobuf.ts'

// A tiny protobuf writer, test-only. Each helper returns the bytes of one
// field; a message is the concatenation of its fields. It writes what Go's
// generated marshallers write: every non-pointer field, zero values included.

type Bytes = number[]

function varint (n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n))
  const out: Bytes = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}
const tag = (no: number, wire: number): Bytes => varint(no * 8 + wire)
const bytesField = (no: number, b: Bytes | Uint8Array): Bytes => [...tag(no, 2), ...varint(b.length), ...b]
const str = (no: number, s: string): Bytes => bytesField(no, new TextEncoder().encode(s))
const int = (no: number, n: number | bigint): Bytes => [...tag(no, 0), ...varint(n)]
const bool = (no: number, b: boolean): Bytes => int(no, b ? 1 : 0)
const msg = (no: number, ...fields: Bytes[]): Bytes => bytesField(no, fields.flat())
/** A map<string,string> field: one {1 key, 2 value} entry per key, sorted like Go. */
const map = (no: number, m: Record<string, string>): Bytes =>
  Object.keys(m).sort().flatMap(k => msg(no, str(1, k), str(2, m[k]!)))

/** What Go writes for an ObjectMeta with only a name and labels set. */
function objectMeta (no: number, name: string, labels: Record<string, string>): Bytes {
  return msg(no, str(1, name), str(2, ''), str(3, ''), str(4, ''), str(5, ''), str(6, ''), int(7, 0), msg(8), map(11, labels))
}

/** "k8s\0" + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}. */
function envelope (apiVersion: string, kind: string, raw: Bytes): Uint8Array {
  return new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytesField(2, raw), ...str(3, ''), ...str(4, '')])
}

/** `kubectl create deployment first-app --image=nginx:1.27 --replicas=3` */
function createDeployment (extraContainerFields: Bytes = []): Uint8Array {
  const labels = { app: 'first-app' }
  const container = msg(2,
    str(1, 'nginx'), str(2, 'nginx:1.27'), str(5, ''), msg(8), str(13, ''), str(14, ''),
    bool(16, false), bool(17, false), bool(18, false), str(20, ''), extraContainerFields)
  const podSpec = msg(2,
    container, str(3, ''), str(6, ''), str(8, ''), str(9, ''), str(10, ''),
    bool(11, false), bool(12, false), bool(13, false), str(16, ''), str(17, ''), str(19, ''), str(24, ''))
  const spec = msg(2,
    int(1, 3),
    msg(2, map(1, labels)),
    msg(3, objectMeta(1, '', labels), podSpec),
    msg(4, str(1, '')),
    int(5, 0),
    bool(7, false))
  const status = msg(3, int(1, 0), int(2, 0), int(3, 0), int(4, 0), int(5, 0), int(7, 0))
  return envelope('apps/v1', 'Deployment', [...objectMeta(1, 'first-app', labels), ...spec, ...status])
}

/** `kubectl create service clusterip x --tcp=80:8080` */
function createService (targetPort: Bytes = [...int(1, 0), ...int(2, 8080), ...str(3, '')]): Uint8Array {
  const port = msg(1, str(1, '80-8080'), str(2, 'TCP'), int(3, 80), msg(4, targetPort), int(5, 0))
  const spec = msg(2, port, map(2, { app: 'x' }), str(3, ''), str(4, 'ClusterIP'), str(7, ''), str(8, ''),
    str(10, ''), str(11, ''), int(12, 0), bool(13, false))
  return envelope('v1', 'Service', [...objectMeta(1, 'x', { app: 'x' }), ...spec, ...msg(3, msg(1))])
}

/** `kubectl create namespace ns1` */
function createNamespace (): Uint8Array {
  return envelope('v1', 'Namespace', [...objectMeta(1, 'ns1', {}), ...msg(2), ...msg(3, str(1, ''))])
}

const firstApp = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'first-app', labels: { app: 'first-app' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'first-app' } },
    template: { metadata: { labels: { app: 'first-app' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
    strategy: {}
  }
}

describe('decodeK8sProtobuf', () => {
  const cases: Array<[string, Uint8Array, unknown]> = [
    ['create deployment', createDeployment(), firstApp],
    ['create service clusterip', createService(), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x', labels: { app: 'x' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'x' }, type: 'ClusterIP' }
    }],
    ['create namespace', createNamespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1' } }]
  ]
  for (const [name, bytes, want] of cases) {
    it(name, () => assert.deepEqual(decodeK8sProtobuf(bytes), { ok: true, object: want }))
  }

  it('targetPort as a string (IntOrString type 1)', () => {
    const r = decodeK8sProtobuf(createService([...int(1, 1), ...int(2, 0), ...str(3, 'http')]))
    assert.ok(r.ok)
    assert.equal((r.object['spec'] as { ports: Array<{ targetPort: unknown }> }).ports[0]?.targetPort, 'http')
  })

  it('keeps pointer zeros (replicas: 0), decodes command, ports, env, resources, and a timestamp', () => {
    const extra = [
      ...str(3, 'sh'), ...str(3, '-c'),
      ...msg(6, str(1, ''), int(2, 0), int(3, 80), str(4, 'TCP'), str(5, '')),
      ...msg(7, str(1, 'A'), str(2, '')),
      ...msg(8, msg(1, str(1, 'cpu'), msg(2, str(1, '500m'))))
    ]
    const labels = { app: 'a' }
    const raw = [
      ...msg(1, str(1, 'a'), msg(8, int(1, 1764028800)), map(11, labels), map(12, { note: 'x' })),
      ...msg(2, int(1, 0), msg(3, msg(2, msg(2, str(1, 'c'), str(2, 'img'), extra)))),
      ...int(99, 7), ...[...tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8], ...[...tag(97, 5), 1, 2, 3, 4]
    ]
    const r = decodeK8sProtobuf(envelope('apps/v1', 'Deployment', raw))
    assert.deepEqual(r, {
      ok: true,
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'a', creationTimestamp: '2025-11-25T00:00:00Z', labels, annotations: { note: 'x' } },
        spec: {
          replicas: 0,
          template: {
            spec: {
              containers: [{
                name: 'c',
                image: 'img',
                command: ['sh', '-c'],
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                env: [{ name: 'A' }],
                resources: { limits: { cpu: '500m' } }
              }]
            }
          }
        }
      }
    })
  })

  it('decodes negative int32 sent as a 10-byte varint', () => {
    const r = decodeK8sProtobuf(envelope('apps/v1', 'Deployment', msg(2, int(1, -1))))
    assert.deepEqual(r, { ok: true, object: { apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: -1 } } })
  })

  const full = createDeployment()
  const bad: Array<[string, Uint8Array, RegExp]> = [
    ['empty body', new Uint8Array(), /missing the "k8s\\0" magic/],
    ['JSON body', new TextEncoder().encode('{"kind":"Deployment"}'), /missing the "k8s\\0" magic/],
    ['bad magic', new Uint8Array([0x6b, 0x38, 0x73, 0x01, ...full.subarray(4)]), /magic/],
    ['truncated in the middle', full.subarray(0, Math.floor(full.length / 2)), /^malformed protobuf body: .*runs past the end/],
    ['truncated varint', new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x80]), /truncated varint/],
    ['truncated fixed64', envelope('v1', 'Namespace', [...tag(9, 1), 1, 2]), /truncated fixed64/],
    ['group wire type', envelope('v1', 'Namespace', [...tag(9, 3)]), /unsupported wire type 3/],
    ['field number 0', envelope('v1', 'Namespace', [0x02, 0x00]), /field number 0/],
    ['wrong wire type for a known field', envelope('v1', 'Namespace', msg(1, int(1, 5))), /field name \(1\) has wire type 0, expected 2/],
    ['invalid UTF-8', envelope('v1', 'Namespace', msg(1, bytesField(1, [0xff, 0xfe]))), /name is not valid UTF-8/],
    ['unsupported kind', envelope('v1', 'Secret', []), /cannot decode protobuf for Secret v1/],
    ['no raw object', new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, 'v1'), str(2, 'Namespace'))]), /no raw object/],
    ['gzip content encoding', new Uint8Array([...envelope('v1', 'Namespace', []), ...str(3, 'gzip')]), /contentEncoding "gzip"/]
  ]
  for (const [name, bytes, re] of bad) {
    it(`rejects: ${name}`, () => {
      const r = decodeK8sProtobuf(bytes)
      assert.equal(r.ok, false)
      assert.match(r.ok ? '' : r.message, re)
    })
  }

  it('never throws on any prefix or single-byte corruption of a real body', () => {
    for (let n = 0; n < full.length; n++) {
      assert.doesNotThrow(() => decodeK8sProtobuf(full.subarray(0, n)))
      const flipped = full.slice()
      flipped[n] = flipped[n]! ^ 0xff
      assert.doesNotThrow(() => decodeK8sProtobuf(flipped))
    }
  })
})
