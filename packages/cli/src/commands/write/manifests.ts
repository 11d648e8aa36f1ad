import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { defaultObject, formatFieldError, infoForKind, validateObject, type KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { isRecord } from '@shoal/core/store/merge-patch.ts'

/**
 * Manifests for `apply -f`, `create -f` and `delete -f`: YAML (several
 * documents split by `---`), JSON, and `kind: List`, from files, from every
 * manifest of a directory, or from stdin. Everything is read and checked
 * before the first request, so a typo in the third document of a file never
 * leaves the first two applied: a bad document stops the command with its
 * file and document number, and nothing is written.
 */

type Rec = Record<string, unknown>

/** One object of a manifest, checked: a kind Shoal serves, and a name. */
export interface Manifest {
  /** The file it came from (`STDIN` for `-`), for messages. */
  readonly source: string
  /** Where in the file: `document 2` or `document 1, item 3` (of a List). */
  readonly where: string
  readonly kind: KindInfo
  readonly name: string
  /** The namespace the object names itself, if any. */
  readonly namespace: string | undefined
  /** The object as written. */
  readonly object: Rec
}

/** A source's text and the name to report it under. */
export interface ManifestText {
  readonly source: string
  readonly text: string
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json']

function problem (source: string, where: string, message: string): CliError {
  return new CliError(`${source}: ${where}: ${message}`)
}

/** The documents of one source: JSON when it looks like JSON, YAML (which may hold several) otherwise. */
function documentsOf (m: ManifestText): unknown[] {
  const trimmed = m.text.trimStart()
  if (m.source.endsWith('.json') || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return [JSON.parse(m.text)]
    } catch (err) {
      if (m.source.endsWith('.json')) throw problem(m.source, 'document 1', `error parsing JSON: ${(err as Error).message}`)
      // Not JSON after all (YAML flow style may start with { too): parse it as YAML below.
    }
  }
  return parseAllDocuments(m.text).map((doc, i) => {
    const error = doc.errors[0]
    if (error !== undefined) throw problem(m.source, `document ${i + 1}`, `error parsing YAML: ${error.message.split('\n')[0]!.replace(/:$/, '')}`)
    return doc.toJS() as unknown
  })
}

/** Check one object: a mapping with a known apiVersion and kind, and a name. */
function checkObject (value: unknown, source: string, where: string): Manifest {
  if (!isRecord(value)) throw problem(source, where, 'not an object (a mapping with apiVersion, kind and metadata)')
  const { apiVersion, kind } = value
  const missing = [apiVersion === undefined || apiVersion === '' ? 'apiVersion not set' : '', kind === undefined || kind === '' ? 'kind not set' : ''].filter(s => s !== '')
  if (missing.length > 0) throw problem(source, where, missing.join(', '))
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw problem(source, where, 'apiVersion and kind must be strings')
  const k = infoForKind(kind)
  if (k === undefined || k.apiVersion !== apiVersion) throw problem(source, where, `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)}`)
  const meta = value.metadata
  const name = isRecord(meta) ? meta.name : undefined
  if (typeof name !== 'string' || name === '') throw problem(source, where, `metadata.name is required (a ${kind} needs a name)`)
  const namespace = isRecord(meta) ? meta.namespace : undefined
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') throw problem(source, where, 'metadata.namespace must be a string')
  return { source, where, kind: k, name, namespace: typeof namespace === 'string' && namespace !== '' ? namespace : undefined, object: value }
}

/** A `kind: List` (or `DeploymentList` …) holds its objects in `items`. */
function isList (value: unknown): value is Rec & { items: unknown[] } {
  return isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)
}

/**
 * Parse and check every object of the given sources, in order. Empty
 * documents (a trailing `---`, comments only) are skipped, as kubectl does.
 * Throws a CliError naming the source and document of the first bad one.
 */
export function parseManifests (texts: readonly ManifestText[]): Manifest[] {
  const out: Manifest[] = []
  for (const t of texts) {
    documentsOf(t).forEach((doc, i) => {
      if (doc === null || doc === undefined) return
      const where = `document ${i + 1}`
      if (isList(doc)) doc.items.forEach((item, j) => out.push(checkObject(item, t.source, `${where}, item ${j + 1}`)))
      else out.push(checkObject(doc, t.source, where))
    })
  }
  return out
}

/**
 * Check an object as the server will after defaulting, so an invalid
 * document stops the whole command before anything is written; the message
 * is the server's 422 wording.
 */
export function checkValid (m: Manifest, namespace: string | undefined): void {
  const placed = m.kind.namespaced ? { ...m.object, metadata: { ...(m.object.metadata as Rec), namespace } } : m.object
  const errors = validateObject(m.kind.resource, defaultObject(m.kind.resource, placed))
  if (errors.length === 0) return
  const lines = [...new Set(errors.map(formatFieldError))]
  throw problem(m.source, m.where, `The ${m.kind.kind} ${JSON.stringify(m.name)} is invalid: ${lines.length === 1 ? lines[0]! : `[${lines.join(', ')}]`}`)
}

/** The files `-f` names: a file, every manifest of a directory (sorted, not recursive), or `-` for stdin. */
export function expandPaths (paths: readonly string[]): string[] {
  return paths.flatMap(p => {
    if (p === '-') return ['-']
    let isDir: boolean
    try {
      isDir = statSync(p).isDirectory()
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new CliError(`the path ${JSON.stringify(p)} does not exist${code !== undefined && code !== 'ENOENT' ? ` (${code})` : ''}`)
    }
    if (!isDir) return [p]
    return readdirSync(p, { withFileTypes: true })
      .filter(e => e.isFile() && MANIFEST_EXTENSIONS.some(ext => e.name.endsWith(ext)))
      .map(e => e.name).sort().map(f => join(p, f))
  })
}

/** Read every source; stdin (`-`) at most once. */
export async function readManifestTexts (paths: readonly string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<ManifestText[]> {
  const files = expandPaths(paths)
  if (files.filter(f => f === '-').length > 1) throw new CliError('-f - (stdin) may be given only once')
  const out: ManifestText[] = []
  for (const f of files) {
    if (f === '-') {
      const chunks: Buffer[] = []
      for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
      out.push({ source: 'STDIN', text: Buffer.concat(chunks).toString('utf8') })
    } else {
      try {
        out.push({ source: f, text: readFileSync(f, 'utf8') })
      } catch (err) {
        throw new CliError(`cannot read ${f}: ${(err as Error).message}`)
      }
    }
  }
  return out
}

/** Read, parse and check the manifests `-f` names; at least one object, or an error. */
export async function loadManifests (paths: readonly string[], verb: string): Promise<Manifest[]> {
  if (paths.length === 0) throw new CliError(`must specify -f FILE (a file, a directory, or - for stdin) to ${verb}`)
  const manifests = parseManifests(await readManifestTexts(paths))
  if (manifests.length === 0) throw new CliError(`no objects passed to ${verb}`)
  return manifests
}
