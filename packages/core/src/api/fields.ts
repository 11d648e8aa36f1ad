import { kindForResource } from './kinds.ts'
import { isRecord } from '../store/merge-patch.ts'

/**
 * The fields Kubernetes declares for the kinds Shoal serves, and what the API
 * does with a field that is not among them.
 *
 * A real API server decodes a body into Go structs, so a field the struct does
 * not have cannot be stored: it is dropped. The `fieldValidation` query
 * parameter only decides what the client hears about it (apiserver
 * handlers/rest.go):
 * - absent or `Warn` (the default since Kubernetes 1.23): dropped, and one
 *   `Warning: 299 - "unknown field \"spec.foo\""` response header per field,
 *   which kubectl prints as `Warning: unknown field "spec.foo"`;
 * - `Ignore`: dropped silently;
 * - `Strict`: the request fails with 400 BadRequest, `Deployment in version
 *   "v1" cannot be handled as a Deployment: strict decoding error: unknown
 *   field "spec.foo"`. kubectl sends Strict with `apply`, `create -f` and
 *   `create deployment` (its `--validate` defaults to strict; kubernetes-api.md
 *   §3.3-3.4), so a typo in a manifest fails there as against a real cluster.
 * Shoal does the same. Duplicate JSON keys, which Strict also rejects, are
 * gone by the time a body is parsed and are not reported.
 *
 * The schemas name every field of the Kubernetes 1.32+ types (checked against
 * the generated models of @kubernetes/client-node), so no real manifest loses a
 * field. They descend only where Shoal reads the object: a subtree Shoal does
 * not model (`status`, `affinity`, `securityContext`, label and annotation
 * maps, ...) is `ANY` and kept exactly as given, unknown fields and all.
 */

/**
 * `ANY`: any value, kept as given. An object: its known fields. A one-element
 * array: a list whose items follow that schema.
 */
export type FieldSchema = typeof ANY | { readonly [field: string]: FieldSchema } | readonly [FieldSchema]

const ANY = true

/** Fields whose values Shoal keeps without looking inside. */
function opaque (...names: string[]): Record<string, FieldSchema> {
  return Object.fromEntries(names.map(n => [n, ANY]))
}

const OWNER_REFERENCE = opaque('apiVersion', 'blockOwnerDeletion', 'controller', 'kind', 'name', 'uid')

const OBJECT_META: FieldSchema = {
  ...opaque('annotations', 'creationTimestamp', 'deletionGracePeriodSeconds', 'deletionTimestamp', 'finalizers', 'generateName',
    'generation', 'labels', 'managedFields', 'name', 'namespace', 'resourceVersion', 'selfLink', 'uid'),
  ownerReferences: [OWNER_REFERENCE]
}

const OBJECT_REFERENCE = opaque('apiVersion', 'fieldPath', 'kind', 'name', 'namespace', 'resourceVersion', 'uid')

const PROBE: FieldSchema = {
  ...opaque('failureThreshold', 'initialDelaySeconds', 'periodSeconds', 'successThreshold', 'terminationGracePeriodSeconds', 'timeoutSeconds'),
  exec: opaque('command'),
  httpGet: { ...opaque('host', 'path', 'port', 'scheme'), httpHeaders: [opaque('name', 'value')] },
  tcpSocket: opaque('host', 'port'),
  grpc: opaque('port', 'service')
}

const CONTAINER: FieldSchema = {
  ...opaque('args', 'command', 'envFrom', 'image', 'imagePullPolicy', 'lifecycle', 'name', 'resizePolicy', 'restartPolicy',
    'restartPolicyRules', 'securityContext', 'stdin', 'stdinOnce', 'terminationMessagePath', 'terminationMessagePolicy', 'tty',
    'volumeDevices', 'workingDir'),
  env: [{
    ...opaque('name', 'value'),
    valueFrom: opaque('configMapKeyRef', 'fieldRef', 'fileKeyRef', 'resourceFieldRef', 'secretKeyRef')
  }],
  ports: [opaque('containerPort', 'hostIP', 'hostPort', 'name', 'protocol')],
  resources: opaque('claims', 'limits', 'requests'),
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  startupProbe: PROBE,
  volumeMounts: [opaque('mountPath', 'mountPropagation', 'name', 'readOnly', 'recursiveReadOnly', 'subPath', 'subPathExpr')]
}

/** Every volume source Kubernetes has; validation needs the list to count a volume's sources. */
export const VOLUME_SOURCES: readonly string[] = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral',
  'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi', 'nfs',
  'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO', 'secret',
  'storageos', 'vsphereVolume'
]

const KEY_TO_PATH = opaque('key', 'mode', 'path')

const VOLUME: FieldSchema = {
  ...opaque('name', ...VOLUME_SOURCES),
  emptyDir: opaque('medium', 'sizeLimit'),
  hostPath: opaque('path', 'type'),
  configMap: { ...opaque('defaultMode', 'name', 'optional'), items: [KEY_TO_PATH] },
  secret: { ...opaque('defaultMode', 'optional', 'secretName'), items: [KEY_TO_PATH] },
  persistentVolumeClaim: opaque('claimName', 'readOnly')
}

const POD_SPEC: FieldSchema = {
  ...opaque('activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'dnsConfig', 'dnsPolicy', 'enableServiceLinks',
    'ephemeralContainers', 'hostAliases', 'hostIPC', 'hostNetwork', 'hostPID', 'hostUsers', 'hostname', 'hostnameOverride',
    'imagePullSecrets', 'nodeName', 'nodeSelector', 'os', 'overhead', 'preemptionPolicy', 'priority', 'priorityClassName',
    'readinessGates', 'resourceClaims', 'resources', 'restartPolicy', 'runtimeClassName', 'schedulerName', 'schedulingGates',
    'schedulingGroup', 'securityContext', 'serviceAccount', 'serviceAccountName', 'setHostnameAsFQDN', 'shareProcessNamespace',
    'subdomain', 'terminationGracePeriodSeconds', 'tolerations', 'topologySpreadConstraints'),
  containers: [CONTAINER],
  initContainers: [CONTAINER],
  volumes: [VOLUME]
}

const POD_TEMPLATE: FieldSchema = { metadata: OBJECT_META, spec: POD_SPEC }

const LABEL_SELECTOR: FieldSchema = { matchLabels: ANY, matchExpressions: [opaque('key', 'operator', 'values')] }

/** apiVersion, kind, metadata and status, which every kind here has; status is the kubelet's and controllers' and kept as given. */
const object = (rest: Record<string, FieldSchema>): FieldSchema => ({ ...opaque('apiVersion', 'kind', 'status'), metadata: OBJECT_META, ...rest })

const ENDPOINT_ADDRESS: FieldSchema = { ...opaque('hostname', 'ip', 'nodeName'), targetRef: OBJECT_REFERENCE }

const SCHEMAS: Readonly<Record<string, FieldSchema>> = {
  namespaces: object({ spec: opaque('finalizers') }),
  nodes: object({
    spec: { ...opaque('configSource', 'externalID', 'podCIDR', 'podCIDRs', 'providerID', 'unschedulable'), taints: [opaque('effect', 'key', 'timeAdded', 'value')] }
  }),
  pods: object({ spec: POD_SPEC }),
  services: object({
    spec: {
      ...opaque('allocateLoadBalancerNodePorts', 'clusterIP', 'clusterIPs', 'externalIPs', 'externalName', 'externalTrafficPolicy',
        'healthCheckNodePort', 'internalTrafficPolicy', 'ipFamilies', 'ipFamilyPolicy', 'loadBalancerClass', 'loadBalancerIP',
        'loadBalancerSourceRanges', 'publishNotReadyAddresses', 'selector', 'sessionAffinity', 'trafficDistribution', 'type'),
      ports: [opaque('appProtocol', 'name', 'nodePort', 'port', 'protocol', 'targetPort')],
      sessionAffinityConfig: { clientIP: opaque('timeoutSeconds') }
    }
  }),
  endpoints: {
    ...opaque('apiVersion', 'kind'),
    metadata: OBJECT_META,
    subsets: [{ addresses: [ENDPOINT_ADDRESS], notReadyAddresses: [ENDPOINT_ADDRESS], ports: [opaque('appProtocol', 'name', 'port', 'protocol')] }]
  },
  events: {
    ...opaque('action', 'apiVersion', 'count', 'eventTime', 'firstTimestamp', 'kind', 'lastTimestamp', 'message', 'reason',
      'reportingComponent', 'reportingInstance', 'type'),
    metadata: OBJECT_META,
    involvedObject: OBJECT_REFERENCE,
    related: OBJECT_REFERENCE,
    source: opaque('component', 'host'),
    series: opaque('count', 'lastObservedTime')
  },
  configmaps: { ...opaque('apiVersion', 'binaryData', 'data', 'immutable', 'kind'), metadata: OBJECT_META },
  replicasets: object({ spec: { ...opaque('minReadySeconds', 'replicas'), selector: LABEL_SELECTOR, template: POD_TEMPLATE } }),
  deployments: object({
    spec: {
      ...opaque('minReadySeconds', 'paused', 'progressDeadlineSeconds', 'replicas', 'revisionHistoryLimit'),
      selector: LABEL_SELECTOR,
      strategy: { type: ANY, rollingUpdate: opaque('maxSurge', 'maxUnavailable') },
      template: POD_TEMPLATE
    }
  })
}

/** The known-field schema of a resource (a plural name), if Shoal has one. */
export function schemaFor (resource: string): FieldSchema | undefined {
  return SCHEMAS[resource]
}

function prune (schema: FieldSchema, value: unknown, path: string, unknown: string[]): unknown {
  if (schema === ANY) return value
  if (Array.isArray(schema)) {
    // A value of the wrong type is left for validation to report.
    const item = schema[0] as FieldSchema
    return Array.isArray(value) ? value.map((v, i) => prune(item, v, `${path}[${i}]`, unknown)) : value
  }
  if (!isRecord(value)) return value
  const fields = schema as Readonly<Record<string, FieldSchema>>
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const at = path === '' ? k : `${path}.${k}`
    const child = Object.hasOwn(fields, k) ? fields[k] : undefined
    if (child === undefined) unknown.push(at)
    else out[k] = prune(child, v, at, unknown)
  }
  return out
}

export interface UnknownFields<T> {
  /** `obj` without its unknown fields (a copy where anything was dropped along the way). */
  readonly object: T
  /** Their paths, as Kubernetes names them: `spec.template.spec.containers[0].imagePullPolicyy`. */
  readonly unknown: readonly string[]
}

/**
 * Splits off the fields of `obj` that the Kubernetes type of `resource` does
 * not declare. Pure; never mutates `obj`. A resource without a schema keeps
 * everything.
 */
export function dropUnknownFields<T> (resource: string, obj: T): UnknownFields<T> {
  const schema = schemaFor(resource)
  if (schema === undefined) return { object: obj, unknown: [] }
  const unknown: string[] = []
  const object = prune(schema, obj, '', unknown) as T
  return { object, unknown }
}

/** The values `?fieldValidation=` takes; '' is its absence. */
export const FIELD_VALIDATION_VALUES = ['', 'Ignore', 'Strict', 'Warn'] as const
export type FieldValidation = 'Ignore' | 'Strict' | 'Warn'

/** The directive a request asks for: absent or '' means Warn, as in Kubernetes; undefined for a value it does not know. */
export function fieldValidationDirective (value: string | null): FieldValidation | undefined {
  if (value === null || value === '') return 'Warn'
  return value === 'Ignore' || value === 'Strict' || value === 'Warn' ? value : undefined
}

/** `unknown field "spec.foo"`: the text of one Strict error or one Warning. */
export function unknownFieldMessage (path: string): string {
  return `unknown field ${JSON.stringify(path)}`
}

/**
 * The 400 message of a Strict request with unknown fields, as the apiserver's
 * transformDecodeError words it: with the body's kind and version when it
 * names a kind, else as an unrecognized object of the resource's kind.
 */
export function strictDecodingMessage (resource: string, body: unknown, unknown: readonly string[]): string {
  const target = kindForResource(resource)?.kind ?? resource
  const error = `strict decoding error: ${unknown.map(unknownFieldMessage).join(', ')}`
  const kind = isRecord(body) && typeof body.kind === 'string' ? body.kind : ''
  if (kind === '') return `the object provided is unrecognized (must be of type ${target}): ${error}`
  const apiVersion = isRecord(body) && typeof body.apiVersion === 'string' ? body.apiVersion : ''
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1)
  return `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${target}: ${error}`
}

/**
 * An HTTP `Warning` header value (RFC 7234 §5.5) for a text, as the apiserver
 * writes it: code 299, no agent, the text quoted with `"` and `\` escaped.
 */
export function warningHeader (text: string): string {
  return `299 - "${text.replace(/[\\"]/g, c => `\\${c}`)}"`
}
