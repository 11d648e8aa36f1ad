import { isRecord } from '../store/merge-patch.ts'
/**
 * The building blocks of validation: field errors worded as Kubernetes words
 * them (k8s.io/apimachinery/pkg/util/validation/field) and the string formats
 * of k8s.io/apimachinery/pkg/util/validation with their messages, because
 * kubectl prints a 422's message verbatim and users compare it with what a
 * real cluster says.
 */

/** Kubernetes' CauseType values. */
export type FieldErrorReason =
  | 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate'
  | 'FieldValueNotFound' | 'FieldValueForbidden' | 'FieldValueTooLong'

/** One problem; `message` is the body Kubernetes puts in a Status cause (`Invalid value: -1: must be ...`). */
export interface FieldError {
  readonly field: string
  readonly reason: FieldErrorReason
  readonly message: string
}

export type Rec = Record<string, unknown>
export type Out = FieldError[]

/** Renders a value the way Kubernetes does in messages: strings quoted, numbers bare, objects as JSON. */
function show (v: unknown): string {
  return v === undefined ? 'null' : JSON.stringify(v)
}

export const required = (field: string, detail?: string): FieldError =>
  ({ field, reason: 'FieldValueRequired', message: detail === undefined ? 'Required value' : `Required value: ${detail}` })
export const invalid = (field: string, value: unknown, detail: string): FieldError =>
  ({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${show(value)}: ${detail}` })
export const notSupported = (field: string, value: unknown, valid: readonly string[]): FieldError =>
  ({ field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${show(value)}: supported values: ${valid.map(s => JSON.stringify(s)).join(', ')}` })
export const duplicate = (field: string, value: unknown, detail?: string): FieldError =>
  ({ field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${show(value)}${detail === undefined ? '' : `: ${detail}`}` })
export const notFound = (field: string, value: unknown): FieldError =>
  ({ field, reason: 'FieldValueNotFound', message: `Not found: ${show(value)}` })
export const forbidden = (field: string, detail: string): FieldError =>
  ({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` })
export const tooLong = (field: string, max: number): FieldError =>
  ({ field, reason: 'FieldValueTooLong', message: `Too long: may not be more than ${max} bytes` })

/** `spec.replicas: Invalid value: -1: must be ...`, the line kubectl prints for one error. */
export function formatFieldError (e: FieldError): string {
  return e.field === '' ? e.message : `${e.field}: ${e.message}`
}

// ---- formats

export function regexError (msg: string, fmt: string, ...examples: string[]): string {
  return `${msg} (e.g. ${examples.map(e => `'${e}', `).join('or ')}regex used for validation is '${fmt}')`
}
export const full = (fmt: string): RegExp => new RegExp(`^(?:${fmt})$`)
const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`
const DNS1035_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?'
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+'
const maxLen = (n: number): string => `must be no more than ${n} characters`

function check (value: string, max: number, fmt: string, msg: string, ...examples: string[]): string[] {
  const errs = value.length > max ? [maxLen(max)] : []
  if (!full(fmt).test(value)) errs.push(regexError(msg, fmt, ...examples))
  return errs
}
export const dns1123Label = (v: string): string[] => check(v, 63, LABEL_FMT,
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", 'my-name', '123-abc')
export const dns1123Subdomain = (v: string): string[] => check(v, 253, SUBDOMAIN_FMT,
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", 'example.com')
export const dns1035Label = (v: string): string[] => check(v, 63, DNS1035_FMT,
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", 'my-name', 'abc-123')
export const labelValue = (v: string): string[] => check(v, 63, LABEL_VALUE_FMT,
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", 'MyValue', 'my_value', '12345')
export const configKey = (v: string): string[] => check(v, 253, CONFIG_KEY_FMT,
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", 'key.name', 'KEY_NAME', 'key-name')

/**
 * An environment variable name as Kubernetes 1.32 checks it: the
 * RelaxedEnvironmentVariableValidation gate is on by default there, so any
 * printable ASCII but '=' is allowed (Docker takes those too).
 */
export function envName (v: string): string[] {
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(v) ? [] : ["a valid environment variable name must consist only of printable ASCII characters other than '='"]
}

/** A label or annotation key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function qualifiedName (value: string): string[] {
  const msg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  const parts = value.split('/')
  if (parts.length > 2) return [`a qualified name ${regexError(msg, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`]
  const name = parts[parts.length - 1] ?? ''
  const errs: string[] = []
  if (parts.length === 2) {
    const prefix = parts[0] ?? ''
    if (prefix === '') errs.push('prefix part must be non-empty')
    else errs.push(...dns1123Subdomain(prefix).map(m => `prefix part ${m}`))
  }
  if (name === '') errs.push('name part must be non-empty')
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`)
  if (!full(QNAME_FMT).test(name)) errs.push(`name part ${regexError(msg, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`)
  return errs
}

/** An IANA service name, as a named port (`http`, `metrics`). */
export function portName (v: string): string[] {
  const errs = v.length > 15 ? [maxLen(15)] : []
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')
  else if (v.includes('--')) errs.push('must not contain consecutive hyphens')
  else if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen')
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)')
  return errs
}

const IPV4_PART = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`)

/** Whether `v` is an IPv4 or IPv6 address as Go's net.ParseIP reads one (no zone, no leading zeros). */
export function isIP (v: string): boolean {
  if (IPV4.test(v)) return true
  if (!v.includes(':') || !/^[0-9a-fA-F:.]+$/.test(v)) return false
  const halves = v.split('::')
  if (halves.length > 2) return false
  const groups = (s: string): string[] => s === '' ? [] : s.split(':')
  const all = halves.flatMap(groups)
  const last = all[all.length - 1] ?? ''
  const v4Tail = last.includes('.')
  if (v4Tail && !IPV4.test(last)) return false
  const hex = v4Tail ? all.slice(0, -1) : all
  if (!hex.every(g => /^[0-9a-fA-F]{1,4}$/.test(g))) return false
  const count = hex.length + (v4Tail ? 2 : 0)
  return halves.length === 2 ? count < 8 : count === 8
}
export const IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'

export const QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60
}

/** The value of a resource quantity (`100m` = 0.1, `64Mi`, `1e3`), or undefined when it does not parse. */
export function parseQuantity (q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined
  if (typeof q !== 'string') return undefined
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))$/.exec(q)
  if (m === null) return undefined
  const n = Number(m[1])
  if (m[2] !== undefined) return Number(`${m[1] ?? ''}${m[2]}`)
  const mult = SUFFIX[m[3] ?? '']
  return mult === undefined ? undefined : n * mult
}

// ---- checks shared by several kinds

export function oneOf (out: Out, field: string, v: unknown, valid: readonly string[]): void {
  if (v !== undefined && (typeof v !== 'string' || !valid.includes(v))) out.push(notSupported(field, v, valid))
}

export function nonNegInt (out: Out, field: string, v: unknown): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) out.push(invalid(field, v, 'must be an integer'))
  else if (v < 0) out.push(invalid(field, v, 'must be greater than or equal to 0'))
}

/** The items of a list field, each an object; anything else is reported and read as empty. */
export function list (out: Out, field: string, v: unknown): Rec[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) { out.push(invalid(field, v, 'must be a list')); return [] }
  return v.map((x, i) => {
    if (!isRecord(x)) out.push(invalid(`${field}[${i}]`, x, 'must be an object'))
    return isRecord(x) ? x : {}
  })
}

/** A list of strings (a command, args). */
export function strings (out: Out, field: string, v: unknown): void {
  if (v === undefined) return
  if (!Array.isArray(v)) out.push(invalid(field, v, 'must be a list of strings'))
  else v.forEach((s, i) => { if (typeof s !== 'string') out.push(invalid(`${field}[${i}]`, s, 'must be a string')) })
}

const PORT_RANGE = 'must be between 1 and 65535, inclusive'

/** A port number where 0 means unset and is Required (containerPort); Kubernetes' IsValidPortNum otherwise. */
export function requiredPort (out: Out, field: string, v: unknown): void {
  if (v === undefined || v === 0) out.push(required(field))
  else portNumber(out, field, v)
}

/** Kubernetes' IsValidPortNum: 0 is invalid, not missing (service ports, probe ports). */
export function portNumber (out: Out, field: string, v: unknown): void {
  if (v === undefined) out.push(required(field))
  else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) out.push(invalid(field, v, PORT_RANGE))
}

/** Kubernetes' ValidatePortNumOrName: an IntOrString port (targetPort, a probe's port). */
export function portOrName (out: Out, field: string, v: unknown): void {
  if (typeof v === 'string') for (const m of portName(v)) out.push(invalid(field, v, m))
  else portNumber(out, field, v)
}

/** A map of label keys to label values (metadata.labels, nodeSelector, a Service selector). */
export function labels (out: Out, field: string, v: unknown): void {
  if (v === undefined) return
  if (!isRecord(v)) { out.push(invalid(field, v, 'must be a map of strings')); return }
  for (const [key, value] of Object.entries(v)) {
    for (const m of qualifiedName(key)) out.push(invalid(field, key, m))
    if (typeof value !== 'string') out.push(invalid(field, value, 'must be a string'))
    else for (const m of labelValue(value)) out.push(invalid(field, value, m))
  }
}

/** A metav1.LabelSelector (Deployment and ReplicaSet selectors). */
export function labelSelector (out: Out, field: string, sel: Rec): void {
  labels(out, `${field}.matchLabels`, sel.matchLabels)
  list(out, `${field}.matchExpressions`, sel.matchExpressions).forEach((e, i) => {
    const p = `${field}.matchExpressions[${i}]`
    if (typeof e.key !== 'string') out.push(required(`${p}.key`))
    else for (const m of qualifiedName(e.key)) out.push(invalid(`${p}.key`, e.key, m))
    oneOf(out, `${p}.operator`, e.operator, ['In', 'NotIn', 'Exists', 'DoesNotExist'])
    const values = Array.isArray(e.values) ? e.values : []
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) out.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) out.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    values.forEach((v, j) => {
      if (typeof v !== 'string') out.push(invalid(`${p}.values[${j}]`, v, 'must be a string'))
      else for (const m of labelValue(v)) out.push(invalid(`${p}.values[${j}]`, v, m))
    })
  })
}

/** Whether a metav1.LabelSelector selects a set of labels. */
export function selects (sel: Rec, labels: Rec): boolean {
  const ml = isRecord(sel.matchLabels) ? sel.matchLabels : {}
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false
  return (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).every((e: Rec) => {
    const has = typeof e.key === 'string' && typeof labels[e.key] === 'string'
    const inValues = has && Array.isArray(e.values) && e.values.includes(labels[e.key as string])
    switch (e.operator) {
      case 'In': return inValues
      case 'NotIn': return !inValues
      case 'Exists': return has
      default: return !has
    }
  })
}

export { isRecord }
