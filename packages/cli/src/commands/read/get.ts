import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { tableWriter } from '../../format.ts'
import { connect, resourcePath, type ConnectionFlags } from '../../kube.ts'
import { getJson, isNotFound, reportErrors, TABLE_ACCEPT, withQuery } from '../../api.ts'
import { recs, type Obj } from './obj.ts'
import { asList, parseOutput, qualifiedName, tableLayout, tableRows, toJson, toYaml, typed, type OutputFormat, type Table, type TableColumn, type TableRow } from './output.ts'
import { parseRequest, type Request, type Selection } from './resources.ts'
import { runWatch } from './watch.ts'

/** `shoal get`: kubectl's get, over the Tables the server prints. */

export interface GetFlags extends ConnectionFlags {
  output?: unknown
  selector?: unknown
  fieldSelector?: unknown
  watch?: unknown
  watchOnly?: unknown
  outputWatchEvents?: unknown
  showLabels?: unknown
  /** False with --no-headers. */
  headers?: unknown
}

/** Where a get reads: the agent, the namespace (undefined for every namespace) and the selectors. */
export interface Scope {
  readonly target: Target
  readonly namespace: string | undefined
  readonly labelSelector: string | undefined
  readonly fieldSelector: string | undefined
}

/** The text of a string option (the last, if given twice); undefined when absent. */
export function optionText (v: unknown): string | undefined {
  if (Array.isArray(v)) return optionText(v[v.length - 1])
  return v === undefined || v === true || v === false ? undefined : String(v)
}

/** The URL that lists a selection, or gets one of its names. */
export function selectionPath (scope: Scope, k: KindInfo, name?: string): string {
  if (name !== undefined) return resourcePath(k, scope.namespace, name)
  return withQuery(resourcePath(k, scope.namespace), { labelSelector: scope.labelSelector, fieldSelector: scope.fieldSelector })
}

/** `No resources found in default namespace.`, on stderr, as kubectl says it. */
export function noResourcesFound (namespace: string | undefined, kinds: readonly KindInfo[]): string {
  return namespace === undefined || kinds.every(k => !k.namespaced) ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`
}

export async function runGet (args: readonly string[], flags: GetFlags): Promise<void> {
  const output = parseOutput(flags.output)
  const target = connect(flags)
  const allNamespaces = flags.allNamespaces === true
  const request = parseRequest('get', args)
  const scope: Scope = { target, namespace: allNamespaces ? undefined : target.namespace, labelSelector: optionText(flags.selector), fieldSelector: optionText(flags.fieldSelector) }
  const byName = request.selections.some(s => s.names.length > 0)
  if (byName && (scope.labelSelector !== undefined || scope.fieldSelector !== undefined)) throw new CliError('name cannot be provided when a selector is specified')
  if (byName && allNamespaces) throw new CliError('a resource cannot be retrieved by name across all namespaces')
  if (flags.watch === true || flags.watchOnly === true) {
    await runWatch(scope, request, {
      output,
      watchOnly: flags.watchOnly === true,
      events: flags.outputWatchEvents === true,
      showLabels: flags.showLabels === true,
      headers: flags.headers !== false
    })
    return
  }
  const errors: unknown[] = []
  let text: string
  let found: number
  if (output === 'table' || output === 'wide') {
    const sections: string[] = []
    found = 0
    for (const s of request.selections) {
      const t = await fetchTable(scope, s, errors)
      if (t.rows.length === 0) continue
      found += t.rows.length
      const layout = tableLayout(t.columns, { wide: output === 'wide', withNamespace: allNamespaces && s.kind.namespaced, ...(request.multipleKinds ? { kind: s.kind } : {}), showLabels: flags.showLabels === true })
      sections.push(tableWriter()([...(flags.headers !== false ? [layout.header] : []), ...t.rows.map(layout.row)]))
    }
    text = sections.join('\n')
  } else {
    const objects: Array<{ kind: KindInfo, object: Obj }> = []
    for (const s of request.selections) for (const object of await fetchObjects(scope, s, errors)) objects.push({ kind: s.kind, object })
    found = objects.length
    text = printObjects(output, request, objects)
  }
  process.stdout.write(text)
  if (found === 0 && errors.length === 0 && (output === 'table' || output === 'wide')) {
    process.stderr.write(noResourcesFound(scope.namespace, request.selections.map(s => s.kind)))
  }
  reportErrors(errors)
}

function printObjects (output: OutputFormat, request: Request, objects: ReadonlyArray<{ kind: KindInfo, object: Obj }>): string {
  if (output === 'name') return objects.map(o => qualifiedName(o.kind, o.object) + '\n').join('')
  const items = objects.map(o => typed(o.kind, o.object))
  const doc = request.singleItem && items.length === 1 ? items[0] : asList(items)
  return output === 'json' ? toJson(doc) : toYaml(doc)
}

/** The server's Table for a selection: one list, or one get per name (a missing name is an error, the rest still print). */
async function fetchTable (scope: Scope, s: Selection, errors: unknown[]): Promise<{ columns: readonly TableColumn[], rows: TableRow[] }> {
  if (s.names.length === 0) {
    const t = await getJson<Table>(scope.target, selectionPath(scope, s.kind), TABLE_ACCEPT)
    return { columns: t.columnDefinitions ?? [], rows: tableRows(t) }
  }
  let columns: readonly TableColumn[] = []
  const rows: TableRow[] = []
  for (const name of s.names) {
    try {
      const t = await getJson<Table>(scope.target, selectionPath(scope, s.kind, name), TABLE_ACCEPT)
      if (columns.length === 0) columns = t.columnDefinitions ?? []
      rows.push(...tableRows(t))
    } catch (err) {
      if (!isNotFound(err)) throw err
      errors.push(err)
    }
  }
  return { columns, rows }
}

/** The objects of a selection, as plain JSON. */
export async function fetchObjects (scope: Scope, s: Selection, errors: unknown[]): Promise<Obj[]> {
  if (s.names.length === 0) return recs((await getJson<{ items?: unknown }>(scope.target, selectionPath(scope, s.kind))).items)
  const objects: Obj[] = []
  for (const name of s.names) {
    try {
      objects.push(await getJson<Obj>(scope.target, selectionPath(scope, s.kind, name)))
    } catch (err) {
      if (!isNotFound(err)) throw err
      errors.push(err)
    }
  }
  return objects
}
