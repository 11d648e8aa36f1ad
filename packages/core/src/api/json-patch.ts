/**
 * JSON Patch (RFC 6902) with JSON Pointers (RFC 6901).
 *
 * kubectl sends it for `rollout undo` (`replace /spec/template` and
 * `replace /metadata/annotations`). The failures matter as much as the
 * successes: `replace` on a path that does not exist must fail (RFC 6902 §4.3),
 * not quietly add, or the server disagrees with what kubectl expects.
 *
 * Errors are returned, never thrown, and name the operation's index and path,
 * so the API can answer 422 with a message a user can act on. The input
 * document is never mutated: the patch works on a private deep copy, so a
 * failing patch leaves nothing half-applied.
 */

import { cloneJson, isJsonEqual, isRecord } from '../store/merge-patch.ts'
import type { JsonRecord } from '../store/merge-patch.ts'

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test', path: string, value: unknown }
  | { op: 'remove', path: string }
  | { op: 'move' | 'copy', path: string, from: string }

export type JsonPatchResult =
  | { readonly ok: true, readonly value: unknown }
  | { readonly ok: false, readonly message: string }

/** Raised inside one operation and turned into `{ ok: false }` with the op's index; never escapes. */
class OpError extends Error {}

/**
 * Parse a JSON Pointer into its reference tokens. `~1` is `/` and `~0` is `~`,
 * decoded in that order so `~01` means the literal `~1`.
 */
export function parsePointer (pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new OpError(`pointer ${JSON.stringify(pointer)} must be empty or start with "/"`)
  return pointer.slice(1).split('/').map(t => {
    if (/~[^01]|~$/.test(t)) throw new OpError(`pointer ${JSON.stringify(pointer)} has an invalid ~ escape`)
    return t.replaceAll('~1', '/').replaceAll('~0', '~')
  })
}

/**
 * Apply `ops` in order to `doc`. The ops are validated as they run (a
 * JSON-decoded body is untrusted), and the first failure stops the patch.
 */
export function applyJsonPatch (doc: unknown, ops: unknown): JsonPatchResult {
  if (!Array.isArray(ops)) return { ok: false, message: 'a JSON patch must be an array of operations' }
  let root = cloneJson(doc)
  for (let i = 0; i < ops.length; i++) {
    const op: unknown = ops[i]
    const label = describe(op)
    try {
      root = applyOp(root, op)
    } catch (err) {
      if (err instanceof OpError) return { ok: false, message: `operation ${i} (${label}): ${err.message}` }
      throw err
    }
  }
  return { ok: true, value: root }
}

function describe (op: unknown): string {
  if (!isRecord(op)) return 'not an object'
  const name = typeof op['op'] === 'string' ? op['op'] : '?'
  const path = typeof op['path'] === 'string' ? op['path'] : '?'
  return `${name} ${path}`
}

function stringField (op: JsonRecord, field: string): string {
  const v = Object.hasOwn(op, field) ? op[field] : undefined
  if (typeof v !== 'string') throw new OpError(`"${field}" must be a string`)
  return v
}

function valueField (op: JsonRecord): unknown {
  if (!Object.hasOwn(op, 'value')) throw new OpError('"value" is required')
  return op['value']
}

/** Apply one operation to the working copy and return the (possibly new) root. */
function applyOp (root: unknown, op: unknown): unknown {
  if (!isRecord(op)) throw new OpError('an operation must be an object')
  const name = stringField(op, 'op')
  const path = parsePointer(stringField(op, 'path'))
  switch (name) {
    case 'add':
      return add(root, path, cloneJson(valueField(op)))
    case 'remove':
      return remove(root, path)
    case 'replace': {
      const value = cloneJson(valueField(op))
      get(root, path)
      return setExisting(root, path, value)
    }
    case 'move': {
      const from = parsePointer(stringField(op, 'from'))
      if (from.length < path.length && from.every((t, i) => t === path[i])) {
        throw new OpError('cannot move a value into one of its own children')
      }
      const value = get(root, from)
      return add(remove(root, from), path, value)
    }
    case 'copy': {
      const from = parsePointer(stringField(op, 'from'))
      return add(root, path, cloneJson(get(root, from)))
    }
    case 'test': {
      const expected = valueField(op)
      if (!isJsonEqual(get(root, path), expected)) throw new OpError('test failed: the value differs')
      return root
    }
    default:
      throw new OpError(`unknown op ${JSON.stringify(name)}`)
  }
}

/** An array index token: digits without leading zeros (RFC 6901 §4). */
function arrayIndex (token: string, length: number, allowEnd: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OpError(`"${token}" is not an array index`)
  const i = Number(token)
  if (i > length || (i === length && !allowEnd)) throw new OpError(`index ${i} is out of bounds (length ${length})`)
  return i
}

/** The container holding the last token of `path`; every step on the way must exist. */
function parentOf (root: unknown, path: readonly string[]): unknown {
  return get(root, path.slice(0, -1))
}

function get (root: unknown, path: readonly string[]): unknown {
  let cur = root
  for (const token of path) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(token, cur.length, false)]
    else if (isRecord(cur) && Object.hasOwn(cur, token)) cur = cur[token]
    else throw new OpError('path not found')
  }
  return cur
}

/** Set an own property as data, so keys such as `__proto__` stay plain keys. */
function setKey (obj: JsonRecord, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
}

function add (root: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value
  const parent = parentOf(root, path)
  const last = path[path.length - 1]!
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : arrayIndex(last, parent.length, true)
    parent.splice(i, 0, value)
  } else if (isRecord(parent)) {
    setKey(parent, last, value)
  } else {
    throw new OpError('parent is not an object or array')
  }
  return root
}

function remove (root: unknown, path: readonly string[]): unknown {
  if (path.length === 0) throw new OpError('cannot remove the whole document')
  get(root, path)
  const parent = parentOf(root, path)
  const last = path[path.length - 1]!
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1)
  else delete (parent as JsonRecord)[last]
  return root
}

/** Replace a value already known to exist. */
function setExisting (root: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value
  const parent = parentOf(root, path)
  const last = path[path.length - 1]!
  if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false)] = value
  else setKey(parent as JsonRecord, last, value)
  return root
}
