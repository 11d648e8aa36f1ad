/** Print rows as kubectl does: upper-case headers, columns padded to the widest cell, three spaces apart. */
export function formatTable (headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join('   ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** A duration the way kubectl prints AGE (Kubernetes' HumanDuration). */
export { formatAge } from '@shoal/core/api/tables.ts'

/**
 * Go's text/tabwriter (left-aligned, space padding), which kubectl uses for
 * every human-readable output: a cell is text ending in a tab, and the cells
 * of one column in consecutive lines form a block padded to its widest cell
 * plus `padding`. A line with fewer cells ends the blocks of the columns it
 * lacks, which is how `describe` aligns each section on its own. The text
 * after a line's last tab is never padded.
 */
export function tabwrite (text: string, opts: { padding?: number, minWidth?: number } = {}): string {
  const padding = opts.padding ?? 2
  const minWidth = opts.minWidth ?? 0
  const trailingNewline = text.endsWith('\n')
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').map(l => l.split('\t'))
  const out: string[] = []
  const widths: number[] = []
  const emit = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i] ?? []
      out[i] = cells.map((c, j) => j < widths.length && j < cells.length - 1 ? c + ' '.repeat(widths[j]! - textWidth(c)) : c).join('')
    }
  }
  // Go's Writer.format: find each block of lines that have a cell in `column`, size it, recurse one column right.
  const format = (from: number, to: number): void => {
    const column = widths.length
    let start = from
    for (let i = from; i < to; i++) {
      if (column >= (lines[i]?.length ?? 0) - 1) continue
      emit(start, i)
      start = i
      let width = minWidth
      for (; i < to && column < (lines[i]?.length ?? 0) - 1; i++) width = Math.max(width, textWidth(lines[i]![column]!) + padding)
      widths.push(width)
      format(start, i)
      widths.pop()
      start = i
    }
    emit(start, to)
  }
  format(0, lines.length)
  return out.join('\n') + (trailingNewline ? '\n' : '')
}

/** Characters as a terminal shows them (code points, not UTF-16 units). */
function textWidth (s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

/**
 * kubectl's table writer for `get`: columns three spaces apart and at least
 * six wide, the last column unpadded. Widths only grow from one call to the
 * next (tabwriter's RememberWidths), so the rows `get -w` prints one event at
 * a time stay under the header printed before them. `seed` sizes columns
 * ahead of their cells (kubectl's EVENT column fits MODIFIED from the start).
 */
export function tableWriter (seed: ReadonlyArray<string | undefined> = []): (rows: ReadonlyArray<readonly string[]>) => string {
  const widths: number[] = seed.map(c => c === undefined ? 6 : Math.max(6, textWidth(c) + 3))
  return rows => {
    for (const row of rows) {
      for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 6, textWidth(row[i]!) + 3)
    }
    return rows.map(row => row.map((c, i) => i < row.length - 1 ? c + ' '.repeat(widths[i]! - textWidth(c)) : c).join('') + '\n').join('')
  }
}
