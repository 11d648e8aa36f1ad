import { describePodTemplate } from './describe-pod.ts'
import { controlledBy, formatTime, type DescribeWriter } from './describe-writer.ts'
import { formatSelector, meta, nameOf, namespaceOf, num, rec, recs, str, type Obj } from './obj.ts'

/** `describe deployment` and `describe replicaset`, as kubectl's describeDeployment and describeReplicaSet. */

const REVISION = 'deployment.kubernetes.io/revision'

/** The Conditions table of a Deployment or ReplicaSet status. */
function conditions (w: DescribeWriter, status: Obj): void {
  const list = recs(status['conditions'])
  if (list.length === 0) return
  w.write(0, 'Conditions:\n  Type\tStatus\tReason\n')
  w.write(1, '----\t------\t------\n')
  for (const c of list) w.write(1, `${str(c['type'])} \t${str(c['status'])}\t${str(c['reason'])}\n`)
}

/** `web-5d4f (3/3 replicas created), …` or `<none>`. */
function replicaSetsText (sets: readonly Obj[]): string {
  if (sets.length === 0) return '<none>'
  return sets.map(rs => `${nameOf(rs)} (${num(rec(rs['status'])['replicas'])}/${num(rec(rs['spec'])['replicas'])} replicas created)`).join(', ')
}

/** A pod template without the `pod-template-hash` label the controller adds, to compare with the Deployment's. */
function templateKey (template: unknown): string {
  const t = rec(template)
  const labels = { ...rec(rec(t['metadata'])['labels']) }
  delete labels['pod-template-hash']
  return JSON.stringify(sortDeep({ ...t, metadata: { ...rec(t['metadata']), labels } }))
}

function sortDeep (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep)
  if (typeof v !== 'object' || v === null) return v
  return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortDeep((v as Obj)[k])]))
}

/**
 * The Deployment's new ReplicaSet (the one with its template, else its
 * revision) and the old ones, among the ReplicaSets it controls.
 */
function splitReplicaSets (d: Obj, owned: readonly Obj[]): { newRs: Obj | undefined, old: Obj[] } {
  const spec = rec(d['spec'])
  const revision = str(rec(meta(d)['annotations'])[REVISION])
  const key = templateKey(spec['template'])
  const newRs = owned.find(rs => templateKey(rec(rs['spec'])['template']) === key) ??
    (revision !== '' ? owned.find(rs => str(rec(meta(rs)['annotations'])[REVISION]) === revision) : undefined)
  return { newRs, old: owned.filter(rs => rs !== newRs) }
}

export function describeDeployment (w: DescribeWriter, d: Obj, replicaSets: readonly Obj[], events: readonly Obj[] | undefined): void {
  const m = meta(d)
  const spec = rec(d['spec'])
  const status = rec(d['status'])
  w.field(0, 'Name', nameOf(d))
  w.field(0, 'Namespace', namespaceOf(d))
  w.field(0, 'CreationTimestamp', formatTime(m['creationTimestamp']))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.field(0, 'Selector', formatSelector(spec['selector']))
  w.field(0, 'Replicas', `${num(spec['replicas'])} desired | ${num(status['updatedReplicas'])} updated | ${num(status['replicas'])} total | ${num(status['availableReplicas'])} available | ${num(status['unavailableReplicas'])} unavailable`)
  const strategy = rec(spec['strategy'])
  w.field(0, 'StrategyType', str(strategy['type']))
  w.field(0, 'MinReadySeconds', num(spec['minReadySeconds']))
  const rolling = strategy['rollingUpdate']
  if (typeof rolling === 'object' && rolling !== null) {
    w.field(0, 'RollingUpdateStrategy', `${str(rec(rolling)['maxUnavailable'])} max unavailable, ${str(rec(rolling)['maxSurge'])} max surge`)
  }
  describePodTemplate(w, spec['template'])
  conditions(w, status)
  const uid = str(m['uid'])
  const owned = replicaSets.filter(rs => recs(meta(rs)['ownerReferences']).some(o => o['controller'] === true && str(o['uid']) === uid))
  if (owned.length > 0) {
    const { newRs, old } = splitReplicaSets(d, owned)
    w.field(0, 'OldReplicaSets', replicaSetsText(old))
    w.field(0, 'NewReplicaSet', replicaSetsText(newRs !== undefined ? [newRs] : []))
  }
  w.events(events)
}

export function describeReplicaSet (w: DescribeWriter, rs: Obj, pods: readonly Obj[], events: readonly Obj[] | undefined): void {
  const m = meta(rs)
  const spec = rec(rs['spec'])
  const status = rec(rs['status'])
  w.field(0, 'Name', nameOf(rs))
  w.field(0, 'Namespace', namespaceOf(rs))
  w.field(0, 'Selector', formatSelector(spec['selector']))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  const controller = controlledBy(rs)
  if (controller !== '') w.field(0, 'Controlled By', controller)
  w.field(0, 'Replicas', `${num(status['replicas'])} current / ${num(spec['replicas'])} desired`)
  const uid = str(m['uid'])
  const mine = pods.filter(p => recs(meta(p)['ownerReferences']).some(o => o['controller'] === true && str(o['uid']) === uid))
  const count = (phase: string): number => mine.filter(p => str(rec(p['status'])['phase']) === phase).length
  w.field(0, 'Pods Status', `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`)
  describePodTemplate(w, spec['template'])
  conditions(w, status)
  w.events(events)
}
