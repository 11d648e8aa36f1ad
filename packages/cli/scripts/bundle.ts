import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import type { Plugin } from 'esbuild'

/**
 * Bundle the CLI's commands into one plain JavaScript file, dist/shoal.mjs
 * (run at `npm install`, by the root package's `prepare`). Run from its
 * TypeScript sources, `shoal get` spent most of its start compiling and
 * linking some 120 modules and loading Node's type stripper (about 16 MiB
 * and 40 ms of its own); one bundled file starts in about kubectl's time.
 *
 * Left out of the bundle, loaded from node_modules or the sources when used:
 * the agent (bin/shoal.js runs `shoal agent` from the sources), and the
 * libraries only `shoal token`/`join` and `shoal image push` need (libp2p's
 * keys, dockerode). dist/inputs.json lists every file the bundle was made
 * from: bin/shoal.js runs the sources instead when any of them changed since.
 */

const cli = resolve(new URL('..', import.meta.url).pathname)
const dist = join(cli, 'dist')
const out = join(dist, 'shoal.mjs')
const agentPackage = resolve(cli, '../agent/package.json')

/** The agent, and the data dir's keys (for `shoal token`), stay out: imported when used, from the sources. */
const agentOutside: Plugin = {
  name: 'agent-outside',
  setup (b) {
    b.onResolve({ filter: /\/commands\/agent\.ts$/ }, args => ({ path: relative(dist, resolve(args.resolveDir, args.path)), external: true }))
    b.onResolve({ filter: /^@shoal\/agent\/data-dir\.ts$/ }, () => ({ path: relative(dist, resolve(cli, '../agent/src/data-dir.ts')), external: true }))
  }
}

/** The version read from the agent's package.json next to the sources, which the bundle is not: written in. */
const versionWrittenIn: Plugin = {
  name: 'version-written-in',
  setup (b) {
    b.onLoad({ filter: /\/agent\/src\/version\.ts$/ }, () => {
      const { version } = JSON.parse(readFileSync(agentPackage, 'utf8')) as { version: string }
      return { contents: `export const VERSION = ${JSON.stringify(version)}`, loader: 'ts' }
    })
  }
}

/**
 * Node's own modules through require, not import: importing node:http as an
 * ES module reads every export of it, which loads Node's fetch (undici),
 * some 12 ms of a 100 ms start.
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup (b) {
    b.onResolve({ filter: /^node:/ }, args => args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' })
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, args => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
  }
}

/**
 * yaml's ES module build (which it gives browsers): the same code as its
 * CommonJS one for Node, but bundled as ES modules it is hoisted into one
 * scope instead of 70-odd module wrappers run at start.
 */
const yamlAsModules: Plugin = {
  name: 'yaml-as-modules',
  setup (b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(dirname(createRequire(join(cli, 'package.json')).resolve('yaml/package.json')), 'browser', 'index.js') }))
  }
}

// esbuild is a dev dependency: an install without it runs the sources, as before.
const esbuild = await import('esbuild').catch(() => undefined)
if (esbuild === undefined) {
  process.stdout.write('esbuild is not installed: shoal runs from its TypeScript sources\n')
  process.exit(0)
}
mkdirSync(dist, { recursive: true })
const result = await esbuild.build({
  entryPoints: [join(cli, 'src/main.ts')],
  outfile: `${out}.tmp`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  metafile: true,
  logLevel: 'warning',
  external: ['@libp2p/*', 'dockerode'],
  // The bundle's CommonJS parts (yaml's) and Node's own modules (builtinsByRequire) are loaded with require.
  banner: { js: 'import { createRequire as shoalRequire } from \'node:module\'; const require = shoalRequire(import.meta.url);' },
  plugins: [agentOutside, versionWrittenIn, builtinsByRequire, yamlAsModules]
})
// Files only: the builtins' stand-ins are named builtin:node:….
const files = Object.keys(result.metafile.inputs).filter(p => !p.startsWith('builtin:'))
const inputs = [...files.map(p => resolve(p)), agentPackage].map(p => relative(dist, p))
writeFileSync(join(dist, 'inputs.json'), JSON.stringify(inputs) + '\n')
renameSync(`${out}.tmp`, out)
process.stdout.write(`bundled the CLI into ${relative(process.cwd(), out)} (${inputs.length} inputs)\n`)
