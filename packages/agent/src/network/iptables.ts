import type { CommandRunner } from './command.ts'

/**
 * A chain of Shoal's own in `table`, holding exactly `rules`, and a jump to
 * it at the head of `parent` (before Docker's rules). The rules are written
 * atomically with iptables-restore, and only when `iptables -S` shows
 * something else; the jump is added when missing.
 */
export async function ensureChain (run: CommandRunner, table: string, parent: string | readonly string[], chain: string, rules: readonly string[]): Promise<void> {
  const listed = await run('iptables', ['-w', '-t', table, '-S', chain]).catch(() => '')
  const want = [`-N ${chain}`, ...rules.map(r => `-A ${chain} ${r}`)]
  if (listed.trim().split('\n').join('\n') !== want.join('\n')) {
    await run('iptables-restore', ['-w', '--noflush'], [`*${table}`, `:${chain} - [0:0]`, ...rules.map(r => `-A ${chain} ${r}`), 'COMMIT', ''].join('\n'))
  }
  for (const p of typeof parent === 'string' ? [parent] : parent) {
    try {
      await run('iptables', ['-w', '-t', table, '-C', p, '-j', chain])
    } catch {
      await run('iptables', ['-w', '-t', table, '-I', p, '1', '-j', chain])
    }
  }
}

/** Remove a chain of Shoal's and the jumps to it; what is already gone is fine. */
export async function removeChain (run: CommandRunner, table: string, parent: string | readonly string[], chain: string): Promise<void> {
  for (const p of typeof parent === 'string' ? [parent] : parent) {
    await run('iptables', ['-w', '-t', table, '-D', p, '-j', chain]).catch(() => {})
  }
  await run('iptables', ['-w', '-t', table, '-F', chain]).catch(() => {})
  await run('iptables', ['-w', '-t', table, '-X', chain]).catch(() => {})
}
