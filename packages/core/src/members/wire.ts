import type { GossipMessage, MemberInfo } from './types.ts'
import { isRecord } from '../store/merge-patch.ts'

/** Result of validating untrusted input: the value, or the first problem found, naming the field. */
export type Parsed<T> = { ok: true, value: T } | { ok: false, error: string }

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/

/** Node names follow Kubernetes' DNS-1123 subdomain rule, as Node objects do. */
export function checkNodeName (name: string): string | undefined {
  if (!NAME_RE.test(name)) {
    return `node name ${JSON.stringify(name)} is invalid: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`
  }
  return undefined
}

function isCount (v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function parseInfo (v: unknown): Parsed<MemberInfo> {
  if (!isRecord(v)) return { ok: false, error: 'info: must be an object' }
  const { name, peerId, addrs, api, capacity, version, raftIndex, runtime, proxy } = v
  if (typeof name !== 'string' || checkNodeName(name) !== undefined) return { ok: false, error: 'info.name: must be a valid node name' }
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 128) return { ok: false, error: 'info.peerId: must be a peer id' }
  if (!Array.isArray(addrs) || addrs.length > 32 || !addrs.every(a => typeof a === 'string' && a.startsWith('/') && a.length < 256)) {
    return { ok: false, error: 'info.addrs: must be a list of multiaddrs' }
  }
  if (typeof api !== 'string' || api.length > 300) return { ok: false, error: 'info.api: must be HOST:PORT' }
  if (!isRecord(capacity) || !isCount(capacity.cpus) || !isCount(capacity.memoryBytes) || (capacity.pods !== undefined && (!isCount(capacity.pods) || capacity.pods > 10_000))) {
    return { ok: false, error: 'info.capacity: must have integer cpus and memoryBytes, and pods (at most 10000) if any' }
  }
  if (typeof version !== 'string' || version.length > 64) return { ok: false, error: 'info.version: must be a string' }
  if (raftIndex !== undefined && !isCount(raftIndex)) return { ok: false, error: 'info.raftIndex: must be a non-negative integer' }
  const optionalText = (t: unknown, max: number): boolean => t === undefined || (typeof t === 'string' && t.length <= max)
  if (runtime !== undefined && (!isRecord(runtime) || typeof runtime.ready !== 'boolean' || !optionalText(runtime.message, 1024) || !optionalText(runtime.engine, 256))) {
    return { ok: false, error: 'info.runtime: must be { ready: boolean, message?: string, engine?: string }' }
  }
  const failure = (f: unknown): boolean => isRecord(f) && typeof f.service === 'string' && f.service.length <= 300 && typeof f.message === 'string' && f.message.length <= 1024
  if (proxy !== undefined && (!isRecord(proxy) || !Array.isArray(proxy.failures) || proxy.failures.length > 32 || !proxy.failures.every(failure))) {
    return { ok: false, error: 'info.proxy: must be { failures: [{ service, message }] } with at most 32 failures' }
  }
  return {
    ok: true,
    value: {
      name,
      peerId,
      addrs: [...addrs] as string[],
      api,
      capacity: { cpus: capacity.cpus, memoryBytes: capacity.memoryBytes, ...(capacity.pods !== undefined ? { pods: capacity.pods } : {}) },
      version,
      ...(raftIndex !== undefined ? { raftIndex } : {}),
      ...(runtime !== undefined ? { runtime: { ready: runtime.ready as boolean, ...(typeof runtime.message === 'string' ? { message: runtime.message } : {}), ...(typeof runtime.engine === 'string' ? { engine: runtime.engine } : {}) } } : {}),
      ...(proxy !== undefined ? { proxy: { failures: (proxy.failures as Array<{ service: string, message: string }>).map(f => ({ service: f.service, message: f.message })) } } : {})
    }
  }
}

/** Validate one gossip message as it arrives from the network. */
export function parseGossipMessage (v: unknown): Parsed<GossipMessage> {
  if (!isRecord(v)) return { ok: false, error: 'message: must be an object' }
  if (!isCount(v.incarnation)) return { ok: false, error: 'incarnation: must be a non-negative integer' }
  const incarnation = v.incarnation
  switch (v.type) {
    case 'alive': {
      const info = parseInfo(v.info)
      return info.ok ? { ok: true, value: { type: 'alive', info: info.value, incarnation } } : info
    }
    case 'suspect':
    case 'dead':
      if (typeof v.name !== 'string' || checkNodeName(v.name) !== undefined) return { ok: false, error: 'name: must be a valid node name' }
      if (typeof v.from !== 'string' || checkNodeName(v.from) !== undefined) return { ok: false, error: 'from: must be a valid node name' }
      return { ok: true, value: { type: v.type, name: v.name, incarnation, from: v.from } }
    case 'leave':
      if (typeof v.name !== 'string' || checkNodeName(v.name) !== undefined) return { ok: false, error: 'name: must be a valid node name' }
      if (v.reason !== 'leave' && v.reason !== 'shutdown') return { ok: false, error: 'reason: must be leave or shutdown' }
      return { ok: true, value: { type: 'leave', name: v.name, incarnation, reason: v.reason } }
    default:
      return { ok: false, error: `type: unknown message type ${JSON.stringify(v.type)}` }
  }
}
