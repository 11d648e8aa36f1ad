import type { Parsed } from '../members/wire.ts'
import type { FieldRequirement, FieldSelector, LabelOperator, LabelRequirement, LabelSelector, LabelSelectorSpec } from './types.ts'
import { assertNever } from '../errors.ts'
import { getOwn, isRecord } from './merge-patch.ts'

/**
 * Label and field selectors, parsed and matched the way Kubernetes does
 * (k8s.io/apimachinery `labels.Parse` and `fields.ParseSelector`), so that a
 * `kubectl get pods -l 'app=web,tier notin (db)'` means here what it means there.
 * A parse error names the selector and what was expected, for a 400 answer.
 */

// ---------------------------------------------------------------- labels

type Token =
  | { readonly kind: 'id', readonly text: string }
  | { readonly kind: 'op', readonly text: '!' | '=' | '==' | '!=' | '>' | '<' | ',' | '(' | ')' }
  | { readonly kind: 'in' | 'notin' | 'end' }

const OPERATOR_CHARS = '!=<>,()'
const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const INTEGER_RE = /^-?[0-9]+$/

/** Split a label selector into tokens: identifiers run until whitespace or an operator character. */
function tokenize (text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (/\s/.test(c)) { i++; continue }
    const two = text.slice(i, i + 2)
    if (two === '==' || two === '!=') { tokens.push({ kind: 'op', text: two }); i += 2; continue }
    if (OPERATOR_CHARS.includes(c)) { tokens.push({ kind: 'op', text: c as '!' }); i++; continue }
    let j = i
    while (j < text.length && !/\s/.test(text[j] as string) && !OPERATOR_CHARS.includes(text[j] as string)) j++
    const id = text.slice(i, j)
    tokens.push(id === 'in' || id === 'notin' ? { kind: id } : { kind: 'id', text: id })
    i = j
  }
  tokens.push({ kind: 'end' })
  return tokens
}

function isOp (t: Token, text: string): boolean {
  return t.kind === 'op' && t.text === text
}

function describeToken (t: Token): string {
  if (t.kind === 'id' || t.kind === 'op') return `'${t.text}'`
  return t.kind === 'end' ? 'the end' : `'${t.kind}'`
}

/** Why `key` is not a valid label key (Kubernetes' qualified name: [prefix/]name), or undefined. */
export function checkLabelKey (key: string): string | undefined {
  const slash = key.indexOf('/')
  const prefix = slash < 0 ? undefined : key.slice(0, slash)
  const name = slash < 0 ? key : key.slice(slash + 1)
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix))) {
    return `key ${JSON.stringify(key)}: the prefix must be a lower-case DNS subdomain`
  }
  if (name.length > 63 || !NAME_RE.test(name)) {
    return `key ${JSON.stringify(key)}: the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`
  }
  return undefined
}

/** Why `value` is not a valid label value, or undefined. Empty is valid. */
export function checkLabelValue (value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME_RE.test(value))) return undefined
  return `value ${JSON.stringify(value)}: must be empty or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`
}

function checkRequirement (r: LabelRequirement): string | undefined {
  const keyProblem = checkLabelKey(r.key)
  if (keyProblem !== undefined) return keyProblem
  if (r.operator === 'greaterThan' || r.operator === 'lessThan') {
    return INTEGER_RE.test(r.values[0] ?? '') ? undefined : `key ${JSON.stringify(r.key)}: '>' and '<' need an integer value`
  }
  if ((r.operator === 'in' || r.operator === 'notIn') && r.values.length === 0) return `key ${JSON.stringify(r.key)}: 'in' and 'notin' need at least one value`
  return r.values.map(checkLabelValue).find(p => p !== undefined)
}

/**
 * Parse a label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
 * `a`, `!a`, `a>1`, `a<1`, joined by commas (AND). The empty selector matches
 * everything.
 */
export function parseLabelSelector (text: string): Parsed<LabelSelector> {
  const tokens = tokenize(text)
  let pos = 0
  const peek = (): Token => tokens[pos] as Token
  const next = (): Token => tokens[pos++] as Token
  const fail = (detail: string): Parsed<LabelSelector> => ({ ok: false, error: `invalid label selector ${JSON.stringify(text)}: ${detail}` })
  const requirements: LabelRequirement[] = []
  if (peek().kind === 'end') return { ok: true, value: requirements }

  for (;;) {
    let t = next()
    let requirement: LabelRequirement
    if (t.kind === 'op' && t.text === '!') {
      t = next()
      if (t.kind !== 'id') return fail(`found ${describeToken(t)}, expected a key after '!'`)
      requirement = { key: t.text, operator: 'doesNotExist', values: [] }
    } else {
      if (t.kind !== 'id') return fail(`found ${describeToken(t)}, expected a key`)
      const key = t.text
      const op = next()
      if (op.kind === 'end' || isOp(op, ',')) {
        pos--
        requirement = { key, operator: 'exists', values: [] }
      } else if (op.kind === 'in' || op.kind === 'notin') {
        const open = next()
        if (!isOp(open, '(')) return fail(`found ${describeToken(open)}, expected '(' after '${op.kind}'`)
        const values: string[] = []
        let closed = isOp(peek(), ')')
        if (closed) next()
        while (!closed) {
          const v = peek()
          values.push(v.kind === 'id' ? (next(), v.text) : '')
          const sep = next()
          if (isOp(sep, ')')) closed = true
          else if (!isOp(sep, ',')) return fail(`found ${describeToken(sep)}, expected ',' or ')'`)
        }
        requirement = { key, operator: op.kind === 'in' ? 'in' : 'notIn', values }
      } else if (op.kind === 'op' && ['=', '==', '!=', '>', '<'].includes(op.text)) {
        const v = peek()
        const value = v.kind === 'id' ? (next(), v.text) : ''
        const operator: LabelOperator = op.text === '!=' ? 'notEquals' : op.text === '>' ? 'greaterThan' : op.text === '<' ? 'lessThan' : 'equals'
        requirement = { key, operator, values: [value] }
      } else {
        return fail(`found ${describeToken(op)}, expected one of in, notin, =, ==, !=, >, <, ',' or the end`)
      }
    }
    const problem = checkRequirement(requirement)
    if (problem !== undefined) return fail(problem)
    requirements.push(requirement)
    const sep = next()
    if (sep.kind === 'end') return { ok: true, value: requirements }
    if (!isOp(sep, ',')) return fail(`found ${describeToken(sep)}, expected ',' or the end`)
  }
}

/** Convert a `spec.selector` (matchLabels + matchExpressions) to a selector. `{}` matches everything. */
export function labelSelectorFromSpec (spec: LabelSelectorSpec): Parsed<LabelSelector> {
  const requirements: LabelRequirement[] = []
  for (const [key, value] of Object.entries(spec.matchLabels ?? {})) requirements.push({ key, operator: 'equals', values: [value] })
  const operators = { In: 'in', NotIn: 'notIn', Exists: 'exists', DoesNotExist: 'doesNotExist' } as const
  for (const e of spec.matchExpressions ?? []) {
    const operator = Object.hasOwn(operators, e.operator) ? operators[e.operator] : undefined
    if (operator === undefined) return { ok: false, error: `invalid selector: matchExpressions: unknown operator ${JSON.stringify(e.operator)}` }
    const values = e.values ?? []
    if ((operator === 'exists' || operator === 'doesNotExist') && values.length > 0) {
      return { ok: false, error: `invalid selector: key ${JSON.stringify(e.key)}: '${e.operator}' takes no values` }
    }
    requirements.push({ key: e.key, operator, values: [...values] })
  }
  for (const r of requirements) {
    const problem = checkRequirement(r)
    if (problem !== undefined) return { ok: false, error: `invalid selector: ${problem}` }
  }
  return { ok: true, value: requirements }
}

/** The selector in Kubernetes syntax (parseable by `parseLabelSelector`), e.g. for a SELECTOR column. */
export function formatLabelSelector (selector: LabelSelector): string {
  return selector.map(r => {
    switch (r.operator) {
      case 'equals': return `${r.key}=${r.values[0] ?? ''}`
      case 'notEquals': return `${r.key}!=${r.values[0] ?? ''}`
      case 'in': return `${r.key} in (${r.values.join(',')})`
      case 'notIn': return `${r.key} notin (${r.values.join(',')})`
      case 'exists': return r.key
      case 'doesNotExist': return `!${r.key}`
      case 'greaterThan': return `${r.key}>${r.values[0] ?? ''}`
      case 'lessThan': return `${r.key}<${r.values[0] ?? ''}`
      default: return assertNever(r.operator, 'label operator')
    }
  }).join(',')
}

/** Whether `labels` (an object's metadata.labels, possibly absent) satisfy every requirement. */
export function matchesLabels (selector: LabelSelector, labels: unknown): boolean {
  const lookup = (key: string): string | undefined => {
    const v = isRecord(labels) ? getOwn(labels, key) : undefined
    return typeof v === 'string' ? v : undefined
  }
  return selector.every(r => {
    const v = lookup(r.key)
    switch (r.operator) {
      case 'equals': return v !== undefined && v === r.values[0]
      case 'notEquals': return v === undefined || v !== r.values[0]
      case 'in': return v !== undefined && r.values.includes(v)
      case 'notIn': return v === undefined || !r.values.includes(v)
      case 'exists': return v !== undefined
      case 'doesNotExist': return v === undefined
      case 'greaterThan': return v !== undefined && INTEGER_RE.test(v) && Number(v) > Number(r.values[0])
      case 'lessThan': return v !== undefined && INTEGER_RE.test(v) && Number(v) < Number(r.values[0])
      default: return assertNever(r.operator, 'label operator')
    }
  })
}

// ---------------------------------------------------------------- fields

/** Split on `sep` where it is not escaped by a backslash; escapes are kept for `unescape`. */
function splitUnescaped (text: string, sep: string): string[] {
  const parts: string[] = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === sep) { parts.push(text.slice(start, i)); start = i + 1 }
  }
  parts.push(text.slice(start))
  return parts
}

/** Undo `\\`, `\,` and `\=`; any other escape is an error (as in Kubernetes). */
function unescape (text: string): string | undefined {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (c !== '\\') { out += c; continue }
    const n = text[++i]
    if (n !== '\\' && n !== ',' && n !== '=') return undefined
    out += n
  }
  return out
}

/**
 * Parse a field selector: `path=value`, `path==value` or `path!=value` joined by
 * commas (AND), where path is any dotted path into the object
 * (`metadata.name`, `spec.nodeName`, `involvedObject.uid`). An empty value
 * (`spec.nodeName=`) matches a missing field, which is how "unscheduled" reads.
 */
export function parseFieldSelector (text: string): Parsed<FieldSelector> {
  const fail = (detail: string): Parsed<FieldSelector> => ({ ok: false, error: `invalid field selector ${JSON.stringify(text)}: ${detail}` })
  const requirements: FieldRequirement[] = []
  for (const term of splitUnescaped(text, ',')) {
    if (term.trim() === '') continue
    let at = -1
    for (let i = 0; i < term.length && at < 0; i++) {
      if (term[i] === '\\') i++
      else if (term[i] === '=' || term.startsWith('!=', i)) at = i
    }
    if (at < 0) return fail(`${JSON.stringify(term)} must be path=value, path==value or path!=value`)
    const operator = term[at] === '!' ? 'notEquals' : 'equals'
    const opLength = term.startsWith('!=', at) || term.startsWith('==', at) ? 2 : 1
    const path = term.slice(0, at).trim()
    const value = unescape(term.slice(at + opLength))
    if (path === '' || path.split('.').some(s => s === '')) return fail(`${JSON.stringify(path)} is not a dotted field path`)
    if (value === undefined) return fail(`${JSON.stringify(term)} has an invalid escape; only \\\\, \\, and \\= are allowed`)
    requirements.push({ path, operator, value })
  }
  return { ok: true, value: requirements }
}

/** The string a field selector compares with: scalars as text, missing or null as '', objects as none. */
function fieldValue (object: unknown, path: string): string | undefined {
  let v: unknown = object
  for (const segment of path.split('.')) {
    if (v === undefined || v === null) return ''
    if (!isRecord(v)) return undefined
    v = getOwn(v, segment)
  }
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

/** Whether `object` satisfies every requirement of the field selector. */
export function matchesFields (selector: FieldSelector, object: unknown): boolean {
  return selector.every(r => {
    const v = fieldValue(object, r.path)
    return r.operator === 'equals' ? v === r.value : v !== r.value
  })
}
