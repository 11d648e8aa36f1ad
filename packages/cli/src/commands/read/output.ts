import { stringify } from 'yaml'
import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { formatLabels, meta, nameOf, rec, str, type Obj } from './obj.ts'
import { kindPrefix } from './resources.ts'

/**
 * The output formats of `get` (-o): the server's Table as kubectl prints it,
 * and the objects themselves as JSON, YAML or `kind/name`.
 */

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name'

const FORMATS: readonly OutputFormat[] = ['json', 'name', 'wide', 'yaml']

export function parseOutput (v: unknown): OutputFormat {
  if (v === undefined || v === '' || v === true) return 'table'
  const o = String(Array.isArray(v) ? v[v.length - 1] : v)
  if ((FORMATS as readonly string[]).includes(o)) return o as OutputFormat
  throw new CliError(`unable to match a printer suitable for the output format "${o}", allowed formats are: ${FORMATS.join(',')}`)
}

/** Keys sorted at every level, as Go prints a map: kubectl's JSON and YAML are byte-for-byte comparable. */
export function sortKeys (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (typeof v !== 'object' || v === null) return v
  return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys((v as Obj)[k])]))
}

/** kubectl's -o json: sorted keys, four-space indent. */
export function toJson (v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 4) + '\n'
}

/**
 * kubectl's -o yaml: sorted keys, sequences flush with their key, no line
 * folding; YAML 1.1 quoting, as go-yaml's, so timestamps, `"y"`, `"on"` stay strings.
 */
export function toYaml (v: unknown): string {
  return stringify(v, { version: '1.1', indentSeq: false, sortMapEntries: true, lineWidth: 0 })
}

/** The object as printed alone: with its apiVersion and kind even where the server left them out. */
export function typed (k: KindInfo, o: Obj): Obj {
  return { apiVersion: k.apiVersion, kind: k.kind, ...o }
}

/** Several objects as kubectl prints them: a v1 List with an empty resourceVersion. */
export function asList (items: readonly Obj[]): Obj {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }
}

/** `-o name`: `deployment.apps/web`, `pod/x`. */
export function qualifiedName (k: KindInfo, o: Obj): string {
  return `${kindPrefix(k)}/${nameOf(o)}`
}

// ---------------------------------------------------------------- tables

export interface TableColumn { readonly name: string, readonly priority: number, readonly format: string }
export interface TableRow { readonly cells: readonly unknown[], readonly object?: Obj }
/** A `meta.k8s.io/v1` Table as the server sends it. */
export interface Table {
  readonly metadata?: { readonly resourceVersion?: string }
  readonly columnDefinitions?: readonly TableColumn[]
  readonly rows?: readonly TableRow[]
}

export interface TableOptions {
  readonly wide: boolean
  /** `-A`: a NAMESPACE column first. */
  readonly withNamespace: boolean
  /** Set when several kinds print: names become `kind/name`. */
  readonly kind?: KindInfo
  readonly showLabels: boolean
}

/** A cell as kubectl prints it: strings verbatim, numbers and booleans with %v, null as `<none>`. */
function cellText (v: unknown): string {
  if (v === null || v === undefined) return '<none>'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/**
 * The header and rows kubectl makes of a Table: the priority-0 columns (all
 * with -o wide), upper-cased names, NAMESPACE first for -A, the name column
 * prefixed with the kind when several kinds print, LABELS last with --show-labels.
 */
export function tableLayout (columns: readonly TableColumn[], opts: TableOptions): { header: string[], row: (r: TableRow) => string[] } {
  const shown = columns.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || c.priority === 0)
  const nameColumn = columns.findIndex(c => c.format === 'name')
  const header = [...(opts.withNamespace ? ['NAMESPACE'] : []), ...shown.map(({ c }) => c.name.toUpperCase()), ...(opts.showLabels ? ['LABELS'] : [])]
  const row = (r: TableRow): string[] => {
    const m = meta(rec(r.object))
    const cells = shown.map(({ i }) => {
      const text = cellText(r.cells[i])
      return i === nameColumn && opts.kind !== undefined ? `${kindPrefix(opts.kind)}/${text}` : text
    })
    return [...(opts.withNamespace ? [str(m['namespace'])] : []), ...cells, ...(opts.showLabels ? [formatLabels(m['labels'])] : [])]
  }
  return { header, row }
}

/** The resourceVersion of a Table row's object, to resume a watch after it. */
export function rowVersion (r: TableRow): string {
  return str(meta(rec(r.object))['resourceVersion'])
}

/** The rows of a Table, leaving out anything that is not one. */
export function tableRows (t: Table): TableRow[] {
  return Array.isArray(t.rows) ? t.rows.filter((r: TableRow | null) => r !== null && typeof r === 'object' && Array.isArray(r.cells)) : []
}
