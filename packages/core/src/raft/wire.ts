import type { ConfChange, ConfState, Entry, Message, Snapshot } from './types.ts'
import type { Parsed } from '../members/wire.ts'

/**
 * Validate a Raft message as it arrives from the network. Everything the core
 * relies on is checked here once, so a malformed message is dropped with a
 * reason instead of corrupting a log.
 */
export function parseRaftMessage (v: unknown): Parsed<Message> {
  try {
    return { ok: true, value: readMessage(v) }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

class Bad extends Error {}

function obj (v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Bad(`${path}: must be an object`)
  return v as Record<string, unknown>
}
function str (v: unknown, path: string): string {
  if (typeof v !== 'string') throw new Bad(`${path}: must be a string`)
  return v
}
function nat (v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Bad(`${path}: must be a non-negative integer`)
  return v
}
function bool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new Bad(`${path}: must be a boolean`)
  return v
}
function ids (v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new Bad(`${path}: must be a list`)
  return v.map((x, i) => str(x, `${path}[${i}]`))
}

function readConfChange (v: unknown, path: string): ConfChange {
  const o = obj(v, path)
  const node = str(o.node, `${path}.node`)
  if (o.type === 'addVoter' || o.type === 'addLearner' || o.type === 'remove') return { type: o.type, node }
  throw new Bad(`${path}.type: unknown change ${JSON.stringify(o.type)}`)
}

function readEntry (v: unknown, path: string): Entry {
  const o = obj(v, path)
  const term = nat(o.term, `${path}.term`)
  const index = nat(o.index, `${path}.index`)
  if (o.type === 'normal') return { term, index, type: 'normal', data: str(o.data, `${path}.data`) }
  if (o.type === 'conf') return { term, index, type: 'conf', change: readConfChange(o.change, `${path}.change`) }
  throw new Bad(`${path}.type: unknown entry type ${JSON.stringify(o.type)}`)
}

function readConf (v: unknown, path: string): ConfState {
  const o = obj(v, path)
  return { voters: ids(o.voters, `${path}.voters`), learners: ids(o.learners, `${path}.learners`) }
}

function readSnapshot (v: unknown, path: string): Snapshot {
  const o = obj(v, path)
  return { index: nat(o.index, `${path}.index`), term: nat(o.term, `${path}.term`), conf: readConf(o.conf, `${path}.conf`), data: str(o.data, `${path}.data`) }
}

function readMessage (v: unknown): Message {
  const o = obj(v, 'message')
  const base = { from: str(o.from, 'from'), to: str(o.to, 'to'), term: nat(o.term, 'term') }
  switch (o.type) {
    case 'vote':
      return { type: 'vote', ...base, lastIndex: nat(o.lastIndex, 'lastIndex'), lastTerm: nat(o.lastTerm, 'lastTerm'), pre: bool(o.pre, 'pre'), transfer: bool(o.transfer, 'transfer') }
    case 'voteResp':
      return { type: 'voteResp', ...base, granted: bool(o.granted, 'granted'), pre: bool(o.pre, 'pre') }
    case 'append': {
      if (!Array.isArray(o.entries)) throw new Bad('entries: must be a list')
      const prevIndex = nat(o.prevIndex, 'prevIndex')
      const entries = o.entries.map((e, i) => readEntry(e, `entries[${i}]`))
      entries.forEach((e, i) => { if (e.index !== prevIndex + 1 + i) throw new Bad(`entries[${i}].index: must be ${prevIndex + 1 + i}`) })
      return { type: 'append', ...base, prevIndex, prevTerm: nat(o.prevTerm, 'prevTerm'), entries, commit: nat(o.commit, 'commit') }
    }
    case 'appendResp':
      return { type: 'appendResp', ...base, reject: bool(o.reject, 'reject'), index: nat(o.index, 'index'), hintIndex: nat(o.hintIndex, 'hintIndex'), hintTerm: nat(o.hintTerm, 'hintTerm') }
    case 'heartbeat':
      return { type: 'heartbeat', ...base, commit: nat(o.commit, 'commit'), ctx: str(o.ctx, 'ctx') }
    case 'heartbeatResp':
      return { type: 'heartbeatResp', ...base, ctx: str(o.ctx, 'ctx') }
    case 'snapshot':
      return { type: 'snapshot', ...base, snapshot: readSnapshot(o.snapshot, 'snapshot') }
    case 'timeoutNow':
      return { type: 'timeoutNow', ...base }
    default:
      throw new Bad(`type: unknown message type ${JSON.stringify(o.type)}`)
  }
}
