import { formatAge, tabwrite } from '../../format.ts'
import { controllerOf, maybe, num, rec, sortedEntries, str, strs, type Obj } from './obj.ts'

/**
 * What every `describe` printer shares, after kubectl's describe.go: a
 * prefix writer (two spaces per level, tabs between cells, the whole text
 * laid out by a tabwriter at the end), labels and annotations printed one per
 * line, timestamps as RFC 1123 with a numeric zone, and the Events section.
 */

export class DescribeWriter {
  #text = ''
  readonly now: number

  constructor (now: number) {
    this.now = now
  }

  /** Text at an indentation level (two spaces each); tabs separate the aligned cells. */
  write (level: number, text: string): void {
    this.#text += '  '.repeat(level) + text
  }

  /** `Key:\tvalue`, one line. */
  field (level: number, key: string, value: string | number | boolean): void {
    this.write(level, `${key}:\t${String(value)}\n`)
  }

  /** The output, aligned the way kubectl's tabwriter (padding 2) aligns it. */
  toString (): string {
    return tabwrite(this.#text, { padding: 2 })
  }

  /** `Labels:\ta=1` then `\tb=2`…, or `<none>`: `printLabelsMultiline`. */
  labels (title: string, labels: unknown): void {
    const pairs = sortedEntries(labels)
    if (pairs.length === 0) {
      this.write(0, `${title}:\t<none>\n`)
      return
    }
    pairs.forEach(([k, v], i) => this.write(0, `${i === 0 ? `${title}:` : ''}\t${k}=${v}\n`))
  }

  /**
   * `printAnnotationsMultiline`: `key: value`, skipping kubectl's
   * last-applied-configuration; a long or multi-line value goes below its
   * key, each line cut at 140 characters.
   */
  annotations (title: string, annotations: unknown): void {
    const pairs = sortedEntries(annotations).filter(([k]) => k !== LAST_APPLIED)
    if (pairs.length === 0) {
      this.write(0, `${title}:\t<none>\n`)
      return
    }
    pairs.forEach(([key, raw], i) => {
      const lead = i === 0 ? `${title}:\t` : '\t'
      const value = raw.endsWith('\n') ? raw.slice(0, -1) : raw
      if (value.length + key.length + 2 > MAX_ANNOTATION || value.includes('\n')) {
        this.write(0, `${lead}${key}:\n`)
        for (const s of value.split('\n')) this.write(0, `\t  ${s.length > MAX_ANNOTATION - 2 ? s.slice(0, MAX_ANNOTATION - 2) + '...' : s}\n`)
      } else {
        this.write(0, `${lead}${key}: ${value}\n`)
      }
    })
  }

  /** `Tolerations:\tkey=value:Effect op=Exists for 300s`…, or `<none>`. */
  tolerations (title: string, tolerations: unknown): void {
    const list = Array.isArray(tolerations) ? tolerations.map(rec) : []
    if (list.length === 0) {
      this.write(0, `${title}:\t<none>\n`)
      return
    }
    list.forEach((t, i) => {
      let s = str(t['key'])
      if (str(t['value']) !== '') s += `=${str(t['value'])}`
      if (str(t['effect']) !== '') s += `:${str(t['effect'])}`
      if (t['operator'] === 'Exists' && str(t['value']) === '') s += s !== '' ? ' op=Exists' : 'op=Exists'
      if (typeof t['tolerationSeconds'] === 'number') s += ` for ${t['tolerationSeconds']}s`
      this.write(0, `${i === 0 ? `${title}:` : ''}\t${s}\n`)
    })
  }

  /** `translateTimestampSince`: an age, `<unknown>` for a missing time. */
  since (timestamp: unknown): string {
    const t = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN
    return Number.isNaN(t) ? '<unknown>' : formatAge(this.now - t)
  }

  /**
   * `DescribeEvents`: the events about the object, oldest last-seen first;
   * `Age` reads `5m (x3 over 10m)` for a repeated event.
   */
  events (events: readonly Obj[] | undefined): void {
    if (events === undefined) return
    if (events.length === 0) {
      this.write(0, 'Events:\t<none>\n')
      return
    }
    const sorted = [...events].sort((a, b) => timeOf(a['lastTimestamp']) - timeOf(b['lastTimestamp']))
    this.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n')
    this.write(1, '----\t------\t----\t----\t-------\n')
    for (const e of sorted) {
      const first = str(e['eventTime']) !== '' ? this.since(e['eventTime']) : this.since(e['firstTimestamp'])
      const series = maybe(e['series'])
      const count = num(e['count'])
      const interval = series !== undefined
        ? `${this.since(series['lastObservedTime'])} (x${num(series['count'])} over ${first})`
        : count > 1 ? `${this.since(e['lastTimestamp'])} (x${count} over ${first})` : first
      const source = str(rec(e['source'])['component']) || str(e['reportingController'])
      this.write(1, `${str(e['type'])}\t${str(e['reason'])}\t${interval}\t${source}\t${str(e['message']).trim()}\n`)
    }
  }
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
const MAX_ANNOTATION = 140

function timeOf (v: unknown): number {
  const t = typeof v === 'string' ? Date.parse(v) : NaN
  return Number.isNaN(t) ? 0 : t
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * Go's `time.RFC1123Z` in the local zone, as describe prints times:
 * `Wed, 25 Nov 2026 22:09:06 +0000`. A missing time prints as Go's zero time.
 */
export function formatTime (timestamp: unknown): string {
  const t = typeof timestamp === 'string' ? new Date(timestamp) : undefined
  if (t === undefined || Number.isNaN(t.getTime())) return 'Mon, 01 Jan 0001 00:00:00 +0000'
  const two = (n: number): string => String(n).padStart(2, '0')
  const offset = -t.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`
  return `${DAYS[t.getDay()]}, ${two(t.getDate())} ${MONTHS[t.getMonth()]} ${t.getFullYear()} ${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())} ${zone}`
}

/** `ReplicaSet/web-5d4f`: the `Controlled By` of an object, or '' when nothing controls it. */
export function controlledBy (o: Obj): string {
  const c = controllerOf(o)
  return c === undefined ? '' : `${str(c['kind'])}/${str(c['name'])}`
}

/** Go's `%v` of a string list: `[a b c]`. */
export function goList (v: unknown): string {
  return `[${strs(v).join(' ')}]`
}
