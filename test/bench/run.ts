import { failureDetectionAndIdle, joinConvergence } from './members.bench.ts'
import { consensusBench } from './raft.bench.ts'

/**
 * `npm run bench`: every benchmark, one line of figures each. Agents run as
 * real processes on 127.0.0.x. Pass names to run a subset: `npm run bench -- join`.
 */
const benches: Record<string, () => Promise<string | string[]>> = {
  join: async () => [await joinConvergence(5), await joinConvergence(20)],
  detect: async () => await failureDetectionAndIdle(10),
  raft: async () => await consensusBench(),
  api: async () => await (await import('./api.bench.ts')).apiBench(),
  pods: async () => await (await import('./pods.bench.ts')).podsBench(),
  control: async () => await (await import('./control.bench.ts')).controlBench(),
  services: async () => await (await import('./services.bench.ts')).servicesBench(),
  network: async () => await (await import('./network.bench.ts')).networkBench(),
  images: async () => await (await import('./images.bench.ts')).imagesBench(),
  cli: async () => await (await import('./cli.bench.ts')).cliBench(),
  scale: async () => await (await import('./scale.bench.ts')).scaleBench()
}

const wanted = process.argv.slice(2)
// Issue 15's figures include issue 5's pods bar, so `network` runs `pods` too.
if (wanted.includes('network') && !wanted.includes('pods')) wanted.push('pods')
for (const [name, bench] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const out = await bench()
  for (const line of Array.isArray(out) ? out : [out]) console.log(`${name}: ${line}`)
}
