/**
 * Decoder for the Kubernetes protobuf wire format, just enough for the bodies
 * `kubectl create deployment|service|namespace` send (kubernetes-api.md §3.3).
 *
 * kubectl 1.32+ sends those bodies only as protobuf and never falls back to
 * JSON, so the server must read them. Rather than generated code we keep a
 * small schema table (field number → JSON name and type) for the messages
 * those commands fill in; any field number not in the table is skipped, which
 * protobuf allows, so an unusual flag loses that field instead of failing.
 *
 * Go's generated marshallers write every non-pointer field, zero or not, so a
 * decoded body is full of `generation: 0`, `""`, `false` and `resources: {}`.
 * Fields not marked `keep` drop those zero values, so the result reads like the
 * JSON kubectl would have sent (`omitempty`); `keep` marks Go pointer fields,
 * where a zero (`replicas: 0`) is a real value, and structs JSON never omits.
 *
 * Bad input never throws: every failure comes back as `{ ok: false, message }`.
 * Repeated occurrences of a non-repeated field follow "last one wins" (we do
 * not merge repeated sub-messages, which Go never emits).
 */

import type { JsonRecord } from '../store/merge-patch.ts'

export type ProtobufDecodeResult =
  | { readonly ok: true, readonly object: JsonRecord }
  | { readonly ok: false, readonly message: string }

type Kind =
  | 'string' | 'int' | 'bool' | 'bytes'
  | 'intOrString' | 'time' | 'quantity'
  | { readonly msg: Schema }
  | { readonly map: 'string' | 'quantity' }

interface Field {
  readonly name: string
  readonly kind: Kind
  readonly repeated?: boolean
  /** Keep zero/empty values (Go pointer fields, and structs JSON always writes). */
  readonly keep?: boolean
}

type Schema = Readonly<Record<number, Field>>

const MAGIC = [0x6b, 0x38, 0x73, 0x00] as const

// The schema table. Field numbers are those of k8s.io/api generated.proto;
// the ones §3.3 lists were confirmed by decoding real kubectl requests.

const TIME: Schema = { 1: { name: 'seconds', kind: 'int' }, 2: { name: 'nanos', kind: 'int' } }
const INT_OR_STRING: Schema = { 1: { name: 'type', kind: 'int' }, 2: { name: 'intVal', kind: 'int' }, 3: { name: 'strVal', kind: 'string' } }
const QUANTITY: Schema = { 1: { name: 'string', kind: 'string' } }

const OBJECT_META: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int' },
  8: { name: 'creationTimestamp', kind: 'time' },
  11: { name: 'labels', kind: { map: 'string' } },
  12: { name: 'annotations', kind: { map: 'string' } },
  14: { name: 'finalizers', kind: 'string', repeated: true }
}

const LABEL_SELECTOR: Schema = {
  1: { name: 'matchLabels', kind: { map: 'string' } },
  2: {
    name: 'matchExpressions',
    repeated: true,
    kind: { msg: { 1: { name: 'key', kind: 'string' }, 2: { name: 'operator', kind: 'string' }, 3: { name: 'values', kind: 'string', repeated: true } } }
  }
}

const CONTAINER: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'image', kind: 'string' },
  3: { name: 'command', kind: 'string', repeated: true },
  4: { name: 'args', kind: 'string', repeated: true },
  5: { name: 'workingDir', kind: 'string' },
  6: {
    name: 'ports',
    repeated: true,
    kind: { msg: { 1: { name: 'name', kind: 'string' }, 2: { name: 'hostPort', kind: 'int' }, 3: { name: 'containerPort', kind: 'int' }, 4: { name: 'protocol', kind: 'string' }, 5: { name: 'hostIP', kind: 'string' } } }
  },
  7: { name: 'env', repeated: true, kind: { msg: { 1: { name: 'name', kind: 'string' }, 2: { name: 'value', kind: 'string' } } } },
  8: { name: 'resources', kind: { msg: { 1: { name: 'limits', kind: { map: 'quantity' } }, 2: { name: 'requests', kind: { map: 'quantity' } } } } },
  9: {
    name: 'volumeMounts',
    repeated: true,
    kind: { msg: { 1: { name: 'name', kind: 'string' }, 2: { name: 'readOnly', kind: 'bool' }, 3: { name: 'mountPath', kind: 'string' }, 4: { name: 'subPath', kind: 'string' } } }
  },
  13: { name: 'terminationMessagePath', kind: 'string' },
  14: { name: 'imagePullPolicy', kind: 'string' },
  16: { name: 'stdin', kind: 'bool' },
  17: { name: 'stdinOnce', kind: 'bool' },
  18: { name: 'tty', kind: 'bool' },
  20: { name: 'terminationMessagePolicy', kind: 'string' }
}

const POD_SPEC: Schema = {
  2: { name: 'containers', kind: { msg: CONTAINER }, repeated: true },
  3: { name: 'restartPolicy', kind: 'string' },
  4: { name: 'terminationGracePeriodSeconds', kind: 'int', keep: true },
  6: { name: 'dnsPolicy', kind: 'string' },
  7: { name: 'nodeSelector', kind: { map: 'string' } },
  8: { name: 'serviceAccountName', kind: 'string' },
  10: { name: 'nodeName', kind: 'string' },
  11: { name: 'hostNetwork', kind: 'bool' },
  12: { name: 'hostPID', kind: 'bool' },
  13: { name: 'hostIPC', kind: 'bool' },
  20: { name: 'initContainers', kind: { msg: CONTAINER }, repeated: true }
}

const POD_TEMPLATE_SPEC: Schema = { 1: { name: 'metadata', kind: { msg: OBJECT_META } }, 2: { name: 'spec', kind: { msg: POD_SPEC } } }

const DEPLOYMENT_STRATEGY: Schema = {
  1: { name: 'type', kind: 'string' },
  2: { name: 'rollingUpdate', keep: true, kind: { msg: { 1: { name: 'maxUnavailable', kind: 'intOrString', keep: true }, 2: { name: 'maxSurge', kind: 'intOrString', keep: true } } } }
}

const DEPLOYMENT: Schema = {
  1: { name: 'metadata', kind: { msg: OBJECT_META } },
  2: {
    name: 'spec',
    kind: {
      msg: {
        1: { name: 'replicas', kind: 'int', keep: true },
        2: { name: 'selector', kind: { msg: LABEL_SELECTOR }, keep: true },
        3: { name: 'template', kind: { msg: POD_TEMPLATE_SPEC }, keep: true },
        4: { name: 'strategy', kind: { msg: DEPLOYMENT_STRATEGY }, keep: true },
        5: { name: 'minReadySeconds', kind: 'int' },
        6: { name: 'revisionHistoryLimit', kind: 'int', keep: true },
        7: { name: 'paused', kind: 'bool' },
        9: { name: 'progressDeadlineSeconds', kind: 'int', keep: true }
      }
    }
  }
}

const SERVICE_PORT: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'protocol', kind: 'string' },
  3: { name: 'port', kind: 'int' },
  4: { name: 'targetPort', kind: 'intOrString' },
  5: { name: 'nodePort', kind: 'int' }
}

const SERVICE: Schema = {
  1: { name: 'metadata', kind: { msg: OBJECT_META } },
  2: {
    name: 'spec',
    kind: {
      msg: {
        1: { name: 'ports', kind: { msg: SERVICE_PORT }, repeated: true },
        2: { name: 'selector', kind: { map: 'string' } },
        3: { name: 'clusterIP', kind: 'string' },
        4: { name: 'type', kind: 'string' },
        5: { name: 'externalIPs', kind: 'string', repeated: true },
        7: { name: 'sessionAffinity', kind: 'string' }
      }
    }
  }
}

const NAMESPACE: Schema = {
  1: { name: 'metadata', kind: { msg: OBJECT_META } },
  2: { name: 'spec', kind: { msg: { 1: { name: 'finalizers', kind: 'string', repeated: true } } } }
}

/** ConfigMap{1 metadata, 2 data, 3 binaryData (not decoded), 4 immutable}: what `kubectl create configmap` sends. */
const CONFIG_MAP: Schema = {
  1: { name: 'metadata', kind: { msg: OBJECT_META } },
  2: { name: 'data', kind: { map: 'string' } },
  4: { name: 'immutable', kind: 'bool' }
}

/** The kinds we can decode, by `apiVersion/kind` from the envelope's typeMeta. */
const KINDS: Readonly<Record<string, Schema>> = {
  'apps/v1/Deployment': DEPLOYMENT,
  'v1/Service': SERVICE,
  'v1/Namespace': NAMESPACE,
  'v1/ConfigMap': CONFIG_MAP
}

const UNKNOWN: Schema = {
  1: { name: 'typeMeta', kind: { msg: { 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } } } },
  2: { name: 'raw', kind: 'bytes' },
  3: { name: 'contentEncoding', kind: 'string' },
  4: { name: 'contentType', kind: 'string' }
}

/** Raised inside the decoder and turned into `{ ok: false }`; never escapes this module. */
class DecodeError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A cursor over one message's bytes. Offsets in errors are relative to that message. */
class Reader {
  readonly #bytes: Uint8Array
  #pos = 0

  constructor (bytes: Uint8Array) {
    this.#bytes = bytes
  }

  get done (): boolean {
    return this.#pos >= this.#bytes.length
  }

  /** A base-128 varint, as a bigint so int64 values and negative int32s (10 bytes) are exact. */
  varint (): bigint {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.#bytes[this.#pos++]
      if (b === undefined) throw new DecodeError(`truncated varint at byte ${this.#pos - 1}`)
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
    }
    throw new DecodeError(`varint longer than 10 bytes at byte ${this.#pos}`)
  }

  lengthDelimited (): Uint8Array {
    const start = this.#pos
    const len = this.varint()
    if (len > BigInt(this.#bytes.length - this.#pos)) {
      throw new DecodeError(`length ${len} at byte ${start} runs past the end of the message`)
    }
    const out = this.#bytes.subarray(this.#pos, this.#pos + Number(len))
    this.#pos += Number(len)
    return out
  }

  skip (wireType: number): void {
    if (wireType === 0) this.varint()
    else if (wireType === 2) this.lengthDelimited()
    else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4
      if (this.#pos + n > this.#bytes.length) throw new DecodeError(`truncated fixed${n * 8} at byte ${this.#pos}`)
      this.#pos += n
    } else throw new DecodeError(`unsupported wire type ${wireType} at byte ${this.#pos}`)
  }
}

function toInt (v: bigint): number {
  return Number(BigInt.asIntN(64, v))
}

function isZero (v: unknown): boolean {
  if (v === '' || v === 0 || v === false || v === null) return true
  return typeof v === 'object' && !(v instanceof Uint8Array) && Object.keys(v).length === 0
}

/** Decode one field's payload (already known to have the right wire type). */
function decodeValue (r: Reader, kind: Kind, name: string): unknown {
  if (kind === 'int') return toInt(r.varint())
  if (kind === 'bool') return r.varint() !== 0n
  const bytes = r.lengthDelimited()
  if (kind === 'bytes') return bytes
  if (kind === 'string') {
    try {
      return utf8.decode(bytes)
    } catch {
      throw new DecodeError(`field ${name} is not valid UTF-8`)
    }
  }
  if (kind === 'intOrString') {
    const v = decodeMessage(bytes, INT_OR_STRING)
    return v['type'] === 1 ? (v['strVal'] ?? '') : (v['intVal'] ?? 0)
  }
  if (kind === 'quantity') return decodeMessage(bytes, QUANTITY)['string'] ?? ''
  if (kind === 'time') return formatTime(decodeMessage(bytes, TIME))
  if ('msg' in kind) return decodeMessage(bytes, kind.msg)
  throw new DecodeError(`map field ${name} decoded as a value`)
}

/** Go's zero time.Time (year 1) in Unix seconds, which a client might send instead of an empty Time. */
const GO_ZERO_TIME = -62135596800

/**
 * metav1.Time as RFC 3339 (whole seconds, like Kubernetes writes it). Go sends
 * the zero time as an empty message; it becomes JSON null, which is dropped.
 */
function formatTime (t: JsonRecord): string | null {
  const seconds = typeof t['seconds'] === 'number' ? t['seconds'] : 0
  if ((seconds === 0 || seconds === GO_ZERO_TIME) && !t['nanos']) return null
  const d = new Date(seconds * 1000)
  if (Number.isNaN(d.getTime())) throw new DecodeError(`timestamp ${seconds} is out of range`)
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** A map entry {1 key, 2 value}. */
function decodeMapEntry (bytes: Uint8Array, value: 'string' | 'quantity', name: string): [string, string] {
  const r = new Reader(bytes)
  let key = ''
  let val = ''
  while (!r.done) {
    const tag = r.varint()
    const no = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if ((no === 1 || no === 2) && wire === 2) {
      const v = decodeValue(r, no === 1 ? 'string' : value, name) as string
      if (no === 1) key = v
      else val = v
    } else r.skip(wire)
  }
  return [key, val]
}

function decodeMessage (bytes: Uint8Array, schema: Schema): JsonRecord {
  const r = new Reader(bytes)
  const out = new Map<string, unknown>()
  while (!r.done) {
    const tag = r.varint()
    const no = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (no === 0) throw new DecodeError('field number 0 is invalid')
    const field = Object.hasOwn(schema, no) ? schema[no] : undefined
    if (field === undefined) {
      r.skip(wire)
      continue
    }
    const { kind, name } = field
    const expected = kind === 'int' || kind === 'bool' ? 0 : 2
    if (wire !== expected) throw new DecodeError(`field ${name} (${no}) has wire type ${wire}, expected ${expected}`)
    if (typeof kind === 'object' && 'map' in kind) {
      const [k, v] = decodeMapEntry(r.lengthDelimited(), kind.map, name)
      const m = (out.get(name) ?? new Map<string, string>()) as Map<string, string>
      out.set(name, m.set(k, v))
      continue
    }
    const value = decodeValue(r, kind, name)
    if (field.repeated) {
      const list = (out.get(name) ?? []) as unknown[]
      out.set(name, [...list, value])
    } else if (isZero(value) && field.keep !== true) {
      out.delete(name)
    } else {
      out.set(name, value)
    }
  }
  return Object.fromEntries([...out].map(([k, v]) => [k, v instanceof Map ? Object.fromEntries(v) : v]))
}

/**
 * Decode a `application/vnd.kubernetes.protobuf` request body: the "k8s\0"
 * magic, a runtime.Unknown envelope, and the object in its `raw` field.
 * Only Deployment (apps/v1), Service, Namespace and ConfigMap (v1) are understood.
 */
export function decodeK8sProtobuf (bytes: Uint8Array): ProtobufDecodeResult {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    return { ok: false, message: 'not a Kubernetes protobuf body: missing the "k8s\\0" magic prefix' }
  }
  try {
    const envelope = decodeMessage(bytes.subarray(MAGIC.length), UNKNOWN)
    const typeMeta = (envelope['typeMeta'] ?? {}) as JsonRecord
    const apiVersion = typeof typeMeta['apiVersion'] === 'string' ? typeMeta['apiVersion'] : ''
    const kind = typeof typeMeta['kind'] === 'string' ? typeMeta['kind'] : ''
    if (envelope['contentEncoding'] !== undefined) {
      return { ok: false, message: `unsupported protobuf contentEncoding ${JSON.stringify(envelope['contentEncoding'])}` }
    }
    const id = `${apiVersion}/${kind}`
    const schema = Object.hasOwn(KINDS, id) ? KINDS[id] : undefined
    if (schema === undefined) {
      return { ok: false, message: `cannot decode protobuf for ${apiVersion === '' && kind === '' ? 'an object without apiVersion/kind' : `${kind} ${apiVersion}`}; send JSON instead` }
    }
    const raw = envelope['raw']
    if (!(raw instanceof Uint8Array)) return { ok: false, message: `malformed protobuf body: the envelope for ${kind} has no raw object` }
    return { ok: true, object: { apiVersion, kind, ...decodeMessage(raw, schema) } }
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, message: `malformed protobuf body: ${err.message}` }
    throw err
  }
}
