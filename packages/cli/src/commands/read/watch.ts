import type { IncomingMessage } from 'node:http'
import { CliError, describeEndpoint } from '../../client.ts'
import { tableWriter } from '../../format.ts'
import { getJson, openStream, ServerError, statusOf, TABLE_ACCEPT, withQuery } from '../../api.ts'
import type { Scope } from './get.ts'
import { meta, rec, recs, str, type Obj } from './obj.ts'
import { qualifiedName, rowVersion, tableLayout, tableRows, toJson, toYaml, typed, type OutputFormat, type Table, type TableColumn, type TableRow } from './output.ts'
import type { Request } from './resources.ts'
import { resourcePath } from '../../kube.ts'

/**
 * `shoal get -w`: print what there is (unless --watch-only), then one line
 * per change until interrupted, as kubectl does: a Table watch prints each
 * event's row under the header, with widths that only grow so the rows stay
 * aligned; `--output-watch-events` adds the event type as a first column.
 * When the server ends a watch (its timeout), the watch resumes from the last
 * resourceVersion seen, so no change is printed twice or lost.
 */

export interface WatchOptions {
  readonly output: OutputFormat
  readonly watchOnly: boolean
  /** --output-watch-events */
  readonly events: boolean
  readonly showLabels: boolean
  readonly headers: boolean
}

interface WatchEvent { readonly type: string, readonly object: unknown }

export async function runWatch (scope: Scope, request: Request, opts: WatchOptions): Promise<void> {
  const [selection, ...more] = request.selections
  if (selection === undefined || more.length > 0) throw new CliError('you may only specify a single resource type with --watch')
  if (selection.names.length > 1) throw new CliError(`watch is only supported on individual resources and resource collections, but ${selection.names.length} resources were found`)
  const k = selection.kind
  const name = selection.names[0]
  const table = opts.output === 'table' || opts.output === 'wide'
  const accept = table ? TABLE_ACCEPT : 'application/json'
  // A named watch reads the object first (so a missing one is NotFound), then watches it by field selector.
  const first = await getJson<Obj>(scope.target, name !== undefined ? resourcePath(k, scope.namespace, name) : withQuery(resourcePath(k, scope.namespace), { labelSelector: scope.labelSelector, fieldSelector: scope.fieldSelector }), accept)
  const fieldSelector = name !== undefined ? `metadata.name=${name}` : scope.fieldSelector
  let resourceVersion = str(meta(first)['resourceVersion'])

  let print: (type: string, object: unknown) => void
  if (table) {
    const t = first as Table
    const columns: readonly TableColumn[] = t.columnDefinitions ?? []
    const layout = tableLayout(columns, { wide: opts.output === 'wide', withNamespace: scope.namespace === undefined && k.namespaced, showLabels: opts.showLabels })
    const write = tableWriter(opts.events ? ['MODIFIED'] : [])
    let headed = !opts.headers
    const printRows = (type: string, rows: readonly TableRow[]): void => {
      if (rows.length === 0) return
      const lines = rows.map(r => [...(opts.events ? [type] : []), ...layout.row(r)])
      if (!headed) lines.unshift([...(opts.events ? ['EVENT'] : []), ...layout.header])
      headed = true
      process.stdout.write(write(lines))
    }
    if (!opts.watchOnly) printRows('ADDED', tableRows(t))
    print = (type, object) => { printRows(type, tableRows(rec(object) as Table)) }
  } else {
    let printed = 0
    print = (type, object) => {
      const o = typed(k, rec(object))
      if (opts.output === 'name') process.stdout.write(opts.events ? `${type}   ${qualifiedName(k, o)}\n` : qualifiedName(k, o) + '\n')
      else if (opts.output === 'json') process.stdout.write(toJson(opts.events ? { type, object: o } : o))
      else process.stdout.write((printed > 0 ? '---\n' : '') + toYaml(opts.events ? { type, object: o } : o))
      printed++
    }
    if (!opts.watchOnly) for (const o of name !== undefined ? [first] : recs(first['items'])) print('ADDED', o)
  }

  for (;;) {
    const path = withQuery(resourcePath(k, scope.namespace), { watch: 'true', resourceVersion, labelSelector: scope.labelSelector, fieldSelector })
    const res = await openStream(scope.target, path, accept)
    try {
      for await (const e of watchEvents(res)) {
        if (e.type === 'ERROR') {
          const status = statusOf(500, JSON.stringify(e.object))
          throw new ServerError(status.code ?? 500, status)
        }
        const version = eventVersion(table, e.object)
        if (version !== '') resourceVersion = version
        if (e.type !== 'BOOKMARK') print(e.type, e.object)
      }
    } catch (err) {
      if (err instanceof CliError) throw err
      throw new CliError(`lost the watch on ${describeEndpoint(scope.target.endpoint)}: ${(err as Error).message}`)
    }
  }
}

/** The resourceVersion an event brings the watch to. */
function eventVersion (table: boolean, object: unknown): string {
  if (!table) return str(meta(rec(object))['resourceVersion'])
  const rows = tableRows(rec(object) as Table)
  const last = rows[rows.length - 1]
  return last !== undefined ? rowVersion(last) : str(rec(rec(object)['metadata'])['resourceVersion'])
}

/** The newline-delimited JSON events of a watch answer. */
async function * watchEvents (res: IncomingMessage): AsyncGenerator<WatchEvent> {
  res.setEncoding('utf8')
  let buffer = ''
  for await (const chunk of res) {
    buffer += chunk as string
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim()
      buffer = buffer.slice(nl + 1)
      if (line === '') continue
      const e = JSON.parse(line) as WatchEvent
      if (typeof e === 'object' && e !== null && typeof e.type === 'string') yield e
    }
  }
}
