/** Print rows as kubectl does: upper-case headers, columns padded to the widest cell, three spaces apart. */
export function formatTable (headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join('   ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** A duration the way kubectl prints AGE (Kubernetes' HumanDuration). */
export { formatAge } from '@shoal/core/api/tables.ts'
