/**
 * One bad manifest per validation rule, with the line Kubernetes prints for
 * it. Data only, shared by the unit tests (validate.test.ts) and the API tests
 * (test/api-validation.test.ts), so that "every rule has a test that gets its
 * 422 through the real API" is checked against one list, not two that drift.
 *
 * Each case starts from a valid manifest of its kind, mostly the examples of
 * the Kubernetes docs, and changes one thing.
 */

export type Manifest = Record<string, any>

export interface ValidationCase {
  /** The rule, as a test name. */
  readonly rule: string
  /** The plural resource the manifest is sent to. */
  readonly resource: string
  readonly base: () => Manifest
  readonly change: (o: Manifest) => void
  /** `field: message`, as kubectl prints it after `... is invalid:`. */
  readonly line: string
  /**
   * Whether the rule can be broken by an update of a stored object: not for
   * the name or namespace, which an update takes from its URL.
   */
  readonly update: boolean
  /** The namespace in the URL, when the rule is about it. */
  readonly urlNamespace?: string
}

/** The nginx-deployment example (concepts/workloads/controllers/deployment). */
export const nginxDeployment = (): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }] }
    }
  }
})

/** The my-service example (concepts/services-networking/service), selecting the nginx pods. */
export const nginxService = (): Manifest => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'my-service' },
  spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 9376 }] }
})

/** The frontend example (concepts/workloads/controllers/replicaset). */
export const frontendReplicaSet = (): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'frontend', labels: { app: 'guestbook', tier: 'frontend' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { tier: 'frontend' } },
    template: {
      metadata: { labels: { tier: 'frontend' } },
      spec: { containers: [{ name: 'php-redis', image: 'us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5' }] }
    }
  }
})

/** The simple-pod example (concepts/workloads/pods). */
export const nginxPod = (): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'nginx' },
  spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }] }
})

/** The manual Endpoints example (concepts/services-networking/service, services without selectors). */
export const myEndpoints = (): Manifest => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'my-service' },
  subsets: [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376 }] }]
})

/** An Event as the kubelet records one. */
export const startedEvent = (): Manifest => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'nginx.17e2a1b2c3d4e5f6', namespace: 'default' },
  involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'nginx', namespace: 'default', fieldPath: 'spec.containers{nginx}' },
  reason: 'Started',
  message: 'Started container nginx',
  type: 'Normal',
  source: { component: 'kubelet', host: 'node-1' },
  count: 1
})

export const devNamespace = (): Manifest => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'development', labels: { name: 'development' } } })

/** A Node that no agent backs, with a taint, as an administrator might register one. */
export const spareNode = (): Manifest => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'spare-node', labels: { 'kubernetes.io/hostname': 'spare-node' } },
  spec: { taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }] }
})

export const gameConfig = (): Manifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'game-demo' }, data: { player_initial_lives: '3', 'game.properties': 'enemy.types=aliens\n' } })

const tmpl = (d: Manifest): Manifest => d.spec.template.spec
const c0 = (d: Manifest): Manifest => tmpl(d).containers[0]
const pc0 = (p: Manifest): Manifest => p.spec.containers[0]

const LABEL_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
const QNAME_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const DNS1123_LABEL = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const DNS1123_SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const QUANTITY = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
const PORT_RANGE = 'must be between 1 and 65535, inclusive'

type Row = [rule: string, resource: string, base: () => Manifest, change: (o: Manifest) => void, line: string, opts?: { update?: boolean, urlNamespace?: string }]

const rows: Row[] = [
  // ---- every kind: type and metadata
  ['kind must match the resource', 'deployments', nginxDeployment, o => { o.kind = 'ReplicaSet' }, 'kind: Unsupported value: "ReplicaSet": supported values: "Deployment"'],
  ['apiVersion must match the resource', 'deployments', nginxDeployment, o => { o.apiVersion = 'apps/v1beta1' }, 'apiVersion: Unsupported value: "apps/v1beta1": supported values: "apps/v1"'],
  ['name is required', 'pods', nginxPod, o => { delete o.metadata.name }, 'metadata.name: Required value: name or generateName is required', { update: false }],
  ['name is a DNS subdomain', 'deployments', nginxDeployment, o => { o.metadata.name = 'Web_1' }, `metadata.name: Invalid value: "Web_1": ${DNS1123_SUBDOMAIN}`, { update: false }],
  ['generateName is a DNS subdomain prefix', 'pods', nginxPod, o => { delete o.metadata.name; o.metadata.generateName = 'Web_' }, `metadata.generateName: Invalid value: "Web_": ${DNS1123_SUBDOMAIN}`, { update: false }],
  [
    'service name is a DNS-1035 label', 'services', nginxService, o => { o.metadata.name = '1web' },
    "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    { update: false }
  ],
  ['namespace name is a DNS label', 'namespaces', devNamespace, o => { o.metadata.name = 'dev.team' }, `metadata.name: Invalid value: "dev.team": ${DNS1123_LABEL}`, { update: false }],
  ['the namespace is a DNS label', 'configmaps', gameConfig, () => {}, `metadata.namespace: Invalid value: "Bad_NS": ${DNS1123_LABEL}`, { update: false, urlNamespace: 'Bad_NS' }],
  ['cluster-scoped kinds have no namespace', 'namespaces', devNamespace, o => { o.metadata.namespace = 'default' }, 'metadata.namespace: Forbidden: not allowed on this type'],
  ['node names have no namespace', 'nodes', spareNode, o => { o.metadata.namespace = 'default' }, 'metadata.namespace: Forbidden: not allowed on this type'],
  [
    'label keys are qualified names', 'pods', nginxPod, o => { o.metadata.labels = { 'a/b/c': 'x' } },
    "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
  ],
  ['label values are valid', 'deployments', nginxDeployment, o => { o.metadata.labels = { app: '-x' } }, `metadata.labels: Invalid value: "-x": ${LABEL_MSG}`],
  ['label values are strings', 'services', nginxService, o => { o.metadata.labels = { replicas: 3 } }, 'metadata.labels: Invalid value: 3: must be a string'],
  ['annotation keys are qualified names', 'configmaps', gameConfig, o => { o.metadata.annotations = { 'example.com/': 'x' } }, 'metadata.annotations: Invalid value: "example.com/": name part must be non-empty'],
  ['annotation values are strings', 'pods', nginxPod, o => { o.metadata.annotations = { 'example.com/owner': true } }, 'metadata.annotations[example.com/owner]: Invalid value: true: must be a string'],
  ['annotations are at most 256 KiB', 'configmaps', gameConfig, o => { o.metadata.annotations = { big: 'x'.repeat(262145) } }, 'metadata.annotations: Too long: may not be more than 262144 bytes'],
  ['owner references name their owner', 'pods', nginxPod, o => { o.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend' }] }, 'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'],
  [
    'one owner reference is the controller', 'pods', nginxPod,
    o => { o.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true }, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true }] },
    'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a","uid":"1","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"b","uid":"2","controller":true}]: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b'
  ],

  // ---- Deployments and ReplicaSets
  ['replicas are not negative', 'deployments', nginxDeployment, o => { o.spec.replicas = -1 }, 'spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
  ['replicaset replicas are not negative', 'replicasets', frontendReplicaSet, o => { o.spec.replicas = -2 }, 'spec.replicas: Invalid value: -2: must be greater than or equal to 0'],
  ['replicas are an integer', 'deployments', nginxDeployment, o => { o.spec.replicas = '3' }, 'spec.replicas: Invalid value: "3": must be an integer'],
  ['selector is required', 'deployments', nginxDeployment, o => { delete o.spec.selector }, 'spec.selector: Required value'],
  ['replicaset selector is required', 'replicasets', frontendReplicaSet, o => { delete o.spec.selector }, 'spec.selector: Required value'],
  ['selector matches the template', 'deployments', nginxDeployment, o => { o.spec.template.metadata.labels = { app: 'web' } }, 'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`'],
  ['replicaset selector matches the template', 'replicasets', frontendReplicaSet, o => { o.spec.selector = { matchLabels: { tier: 'backend' } } }, 'spec.template.metadata.labels: Invalid value: {"tier":"frontend"}: `selector` does not match template `labels`'],
  ['selector is not empty', 'deployments', nginxDeployment, o => { o.spec.selector = {} }, 'spec.selector: Invalid value: {}: empty selector is invalid for deployment'],
  ['selector operators', 'replicasets', frontendReplicaSet, o => { o.spec.selector = { matchExpressions: [{ key: 'tier', operator: 'Equals', values: ['frontend'] }] } }, 'spec.selector.matchExpressions[0].operator: Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"'],
  ['In needs values', 'deployments', nginxDeployment, o => { o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }, "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
  ['Exists takes no values', 'deployments', nginxDeployment, o => { o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['nginx'] }] } }, "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
  ['selector values are label values', 'deployments', nginxDeployment, o => { o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx!'] }] } }, `spec.selector.matchExpressions[0].values[0]: Invalid value: "nginx!": ${LABEL_MSG}`],
  ['template labels are valid', 'deployments', nginxDeployment, o => { o.spec.template.metadata.labels = { app: 'nginx', 'bad key': 'x' } }, `spec.template.metadata.labels: Invalid value: "bad key": ${QNAME_MSG}`],
  ['strategy type', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'BlueGreen' } }, 'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'],
  ['Recreate takes no rollingUpdate', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }, "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
  ['maxSurge and maxUnavailable not both 0', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }, 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0'],
  [
    'maxSurge is an int or a percent', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'half' } } },
    "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"half\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex used for validation is '[0-9]+%')"
  ],
  ['maxUnavailable is not negative', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: -1 } } }, 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0'],
  ['maxUnavailable is at most 100%', 'deployments', nginxDeployment, o => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } }, 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'],
  ['minReadySeconds is not negative', 'replicasets', frontendReplicaSet, o => { o.spec.minReadySeconds = -5 }, 'spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0'],
  ['revisionHistoryLimit is not negative', 'deployments', nginxDeployment, o => { o.spec.revisionHistoryLimit = -1 }, 'spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0'],
  ['progressDeadlineSeconds exceeds minReadySeconds', 'deployments', nginxDeployment, o => { o.spec.minReadySeconds = 30; o.spec.progressDeadlineSeconds = 30 }, 'spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds'],
  ['template is required', 'deployments', nginxDeployment, o => { delete o.spec.template }, 'spec.template: Required value'],
  ['deployment pods restart Always', 'deployments', nginxDeployment, o => { tmpl(o).restartPolicy = 'Never' }, 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
  ['replicaset pods restart Always', 'replicasets', frontendReplicaSet, o => { tmpl(o).restartPolicy = 'OnFailure' }, 'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
  ['templates have no activeDeadlineSeconds', 'deployments', nginxDeployment, o => { tmpl(o).activeDeadlineSeconds = 60 }, 'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported'],

  // ---- pods and pod templates: containers
  ['containers are required', 'pods', nginxPod, o => { o.spec.containers = [] }, 'spec.containers: Required value'],
  ['template containers are required', 'deployments', nginxDeployment, o => { delete tmpl(o).containers }, 'spec.template.spec.containers: Required value'],
  ['a container has a name', 'pods', nginxPod, o => { delete pc0(o).name }, 'spec.containers[0].name: Required value'],
  ['container names are DNS labels', 'deployments', nginxDeployment, o => { c0(o).name = 'Nginx' }, `spec.template.spec.containers[0].name: Invalid value: "Nginx": ${DNS1123_LABEL}`],
  ['container names are unique', 'deployments', nginxDeployment, o => { tmpl(o).containers.push({ name: 'nginx', image: 'busybox' }) }, 'spec.template.spec.containers[1].name: Duplicate value: "nginx"'],
  ['container names are unique across init containers', 'pods', nginxPod, o => { o.spec.initContainers = [{ name: 'nginx', image: 'busybox' }] }, 'spec.initContainers[0].name: Duplicate value: "nginx"'],
  ['image is required', 'deployments', nginxDeployment, o => { delete c0(o).image }, 'spec.template.spec.containers[0].image: Required value'],
  ['init container image is required', 'pods', nginxPod, o => { o.spec.initContainers = [{ name: 'init', image: '' }] }, 'spec.initContainers[0].image: Required value'],
  ['image has no surrounding whitespace', 'pods', nginxPod, o => { pc0(o).image = 'nginx:1.14.2 ' }, 'spec.containers[0].image: Invalid value: "nginx:1.14.2 ": must not have leading or trailing whitespace'],
  ['command is a list of strings', 'pods', nginxPod, o => { pc0(o).command = 'nginx -g daemon off;' }, 'spec.containers[0].command: Invalid value: "nginx -g daemon off;": must be a list of strings'],
  ['args are strings', 'pods', nginxPod, o => { pc0(o).args = ['-p', 8080] }, 'spec.containers[0].args[1]: Invalid value: 8080: must be a string'],
  ['imagePullPolicy', 'pods', nginxPod, o => { pc0(o).imagePullPolicy = 'Sometimes' }, 'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'],
  ['terminationMessagePolicy', 'pods', nginxPod, o => { pc0(o).terminationMessagePolicy = 'Logs' }, 'spec.containers[0].terminationMessagePolicy: Unsupported value: "Logs": supported values: "File", "FallbackToLogsOnError"'],
  ['regular containers have no restartPolicy', 'pods', nginxPod, o => { pc0(o).restartPolicy = 'Always' }, 'spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers'],
  ['init container restartPolicy is Always', 'pods', nginxPod, o => { o.spec.initContainers = [{ name: 'init', image: 'busybox', restartPolicy: 'Never' }] }, 'spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"'],

  // ---- container ports
  ['container ports are 1-65535', 'deployments', nginxDeployment, o => { c0(o).ports[0].containerPort = 70000 }, `spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: ${PORT_RANGE}`],
  ['container port is required', 'pods', nginxPod, o => { pc0(o).ports = [{ name: 'http' }] }, 'spec.containers[0].ports[0].containerPort: Required value'],
  ['host ports are 1-65535', 'pods', nginxPod, o => { pc0(o).ports[0].hostPort = -1 }, `spec.containers[0].ports[0].hostPort: Invalid value: -1: ${PORT_RANGE}`],
  ['host ports are unique in a pod', 'pods', nginxPod, o => { pc0(o).ports[0].hostPort = 8080; o.spec.containers.push({ name: 'b', image: 'busybox', ports: [{ containerPort: 81, hostPort: 8080 }] }) }, 'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"'],
  ['port protocol', 'pods', nginxPod, o => { pc0(o).ports[0].protocol = 'HTTP' }, 'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
  ['port names are IANA service names', 'pods', nginxPod, o => { pc0(o).ports[0].name = 'web--http' }, 'spec.containers[0].ports[0].name: Invalid value: "web--http": must not contain consecutive hyphens'],
  ['port names are at most 15 characters', 'pods', nginxPod, o => { pc0(o).ports[0].name = 'a-very-long-port-name' }, 'spec.containers[0].ports[0].name: Invalid value: "a-very-long-port-name": must be no more than 15 characters'],
  ['port names are unique in a container', 'pods', nginxPod, o => { pc0(o).ports = [{ name: 'http', containerPort: 80 }, { name: 'http', containerPort: 8080 }] }, 'spec.containers[0].ports[1].name: Duplicate value: "http"'],

  // ---- env and resources
  ['env names are required', 'pods', nginxPod, o => { pc0(o).env = [{ value: 'x' }] }, 'spec.containers[0].env[0].name: Required value'],
  ['env names', 'pods', nginxPod, o => { pc0(o).env = [{ name: 'A=B', value: 'x' }] }, "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"],
  ['env valueFrom names a source', 'pods', nginxPod, o => { pc0(o).env = [{ name: 'A', valueFrom: {} }] }, 'spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'],
  ['env value and valueFrom exclude each other', 'pods', nginxPod, o => { pc0(o).env = [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }, 'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'],
  ['env valueFrom has one source', 'pods', nginxPod, o => { pc0(o).env = [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, configMapKeyRef: { name: 'c', key: 'k' } } }] }, 'spec.containers[0].env[0].valueFrom: Invalid value: "": may not have more than one field specified at a time'],
  ['cpu quantity parses', 'pods', nginxPod, o => { pc0(o).resources = { limits: { cpu: 'lots' } } }, `spec.containers[0].resources.limits[cpu]: Invalid value: "lots": ${QUANTITY}`],
  ['memory quantity parses', 'deployments', nginxDeployment, o => { c0(o).resources = { requests: { memory: '64MB' } } }, `spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "64MB": ${QUANTITY}`],
  ['quantities are not negative', 'pods', nginxPod, o => { pc0(o).resources = { requests: { memory: '-64Mi' } } }, 'spec.containers[0].resources.requests[memory]: Invalid value: "-64Mi": must be greater than or equal to 0'],
  ['requests do not exceed limits', 'pods', nginxPod, o => { pc0(o).resources = { limits: { cpu: '500m' }, requests: { cpu: 1 } } }, 'spec.containers[0].resources.requests[cpu]: Invalid value: 1: must be less than or equal to cpu limit of 500m'],
  ['container resources are standard or qualified', 'pods', nginxPod, o => { pc0(o).resources = { limits: { gpu: '1' } } }, 'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers'],

  // ---- volumes and mounts
  ['volume names are unique', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', emptyDir: {} }, { name: 'data', hostPath: { path: '/tmp' } }] }, 'spec.volumes[1].name: Duplicate value: "data"'],
  ['volume names are DNS labels', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'my_data', emptyDir: {} }] }, `spec.volumes[0].name: Invalid value: "my_data": ${DNS1123_LABEL}`],
  ['volumes have a name', 'deployments', nginxDeployment, o => { tmpl(o).volumes = [{ emptyDir: {} }] }, 'spec.template.spec.volumes[0].name: Required value'],
  ['a volume has a source', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data' }] }, 'spec.volumes[0]: Required value: must specify a volume type'],
  ['a volume has one source', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', emptyDir: {}, hostPath: { path: '/x' } }] }, 'spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type'],
  ['hostPath has a path', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', hostPath: {} }] }, 'spec.volumes[0].hostPath.path: Required value'],
  ['hostPath type', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', hostPath: { path: '/data', type: 'Dir' } }] }, 'spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'],
  ['hostPath has no backsteps', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', hostPath: { path: '/data/../etc' } }] }, "spec.volumes[0].hostPath.path: Invalid value: \"/data/../etc\": must not contain '..'"],
  ['emptyDir medium', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', emptyDir: { medium: 'Disk' } }] }, 'spec.volumes[0].emptyDir.medium: Unsupported value: "Disk": supported values: "", "Memory"'],
  ['emptyDir sizeLimit is a quantity', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'data', emptyDir: { sizeLimit: '1 GB' } }] }, `spec.volumes[0].emptyDir.sizeLimit: Invalid value: "1 GB": ${QUANTITY}`],
  ['volume mounts name a volume', 'pods', nginxPod, o => { pc0(o).volumeMounts = [{ name: 'cache', mountPath: '/cache' }] }, 'spec.containers[0].volumeMounts[0].name: Not found: "cache"'],
  ['volume mounts have a path', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'cache', emptyDir: {} }]; pc0(o).volumeMounts = [{ name: 'cache' }] }, 'spec.containers[0].volumeMounts[0].mountPath: Required value'],
  ['mount paths are unique', 'pods', nginxPod, o => { o.spec.volumes = [{ name: 'a', emptyDir: {} }, { name: 'b', emptyDir: {} }]; pc0(o).volumeMounts = [{ name: 'a', mountPath: '/data' }, { name: 'b', mountPath: '/data' }] }, 'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique'],

  // ---- probes
  ['probes have a handler', 'pods', nginxPod, o => { pc0(o).livenessProbe = { periodSeconds: 5 } }, 'spec.containers[0].livenessProbe: Required value: must specify a handler type'],
  ['probes have one handler', 'pods', nginxPod, o => { pc0(o).readinessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 } } }, 'spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type'],
  ['probe ports are valid', 'pods', nginxPod, o => { pc0(o).livenessProbe = { tcpSocket: { port: 0 } } }, `spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 0: ${PORT_RANGE}`],
  ['probe port names are valid', 'deployments', nginxDeployment, o => { c0(o).readinessProbe = { httpGet: { path: '/', port: 'HTTP' } } }, 'spec.template.spec.containers[0].readinessProbe.httpGet.port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
  ['httpGet scheme', 'pods', nginxPod, o => { pc0(o).readinessProbe = { httpGet: { port: 80, scheme: 'FTP' } } }, 'spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"'],
  ['exec probes have a command', 'pods', nginxPod, o => { pc0(o).livenessProbe = { exec: { command: [] } } }, 'spec.containers[0].livenessProbe.exec.command: Required value'],
  ['probe thresholds are not negative', 'pods', nginxPod, o => { pc0(o).livenessProbe = { tcpSocket: { port: 80 }, failureThreshold: -1 } }, 'spec.containers[0].livenessProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0'],
  ['probe periods are not negative', 'pods', nginxPod, o => { pc0(o).readinessProbe = { tcpSocket: { port: 80 }, periodSeconds: -5 } }, 'spec.containers[0].readinessProbe.periodSeconds: Invalid value: -5: must be greater than or equal to 0'],
  ['liveness successThreshold is 1', 'pods', nginxPod, o => { pc0(o).livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 } }, 'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'],
  ['startup successThreshold is 1', 'deployments', nginxDeployment, o => { c0(o).startupProbe = { tcpSocket: { port: 80 }, successThreshold: 3 } }, 'spec.template.spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1'],
  ['gRPC probes are not run by Shoal', 'pods', nginxPod, o => { pc0(o).livenessProbe = { grpc: { port: 9090 } } }, 'spec.containers[0].livenessProbe.grpc: Forbidden: gRPC probes are not supported by Shoal; use exec, httpGet or tcpSocket'],
  ['init containers have no probes', 'pods', nginxPod, o => { o.spec.initContainers = [{ name: 'init', image: 'busybox', readinessProbe: { exec: { command: ['true'] } } }] }, 'spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always'],

  // ---- pod spec
  ['restartPolicy', 'pods', nginxPod, o => { o.spec.restartPolicy = 'Sometimes' }, 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
  ['dnsPolicy', 'pods', nginxPod, o => { o.spec.dnsPolicy = 'Google' }, 'spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"'],
  ['terminationGracePeriodSeconds is not negative', 'pods', nginxPod, o => { o.spec.terminationGracePeriodSeconds = -1 }, 'spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0'],
  ['activeDeadlineSeconds is positive', 'pods', nginxPod, o => { o.spec.activeDeadlineSeconds = 0 }, 'spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive'],
  ['nodeName is a DNS subdomain', 'pods', nginxPod, o => { o.spec.nodeName = 'Node_1' }, `spec.nodeName: Invalid value: "Node_1": ${DNS1123_SUBDOMAIN}`],
  ['nodeSelector keys are label keys', 'deployments', nginxDeployment, o => { tmpl(o).nodeSelector = { 'disk type': 'ssd' } }, `spec.template.spec.nodeSelector: Invalid value: "disk type": ${QNAME_MSG}`],
  ['nodeSelector values are label values', 'pods', nginxPod, o => { o.spec.nodeSelector = { disktype: 'ssd drive' } }, `spec.nodeSelector: Invalid value: "ssd drive": ${LABEL_MSG}`],

  // ---- services
  ['service ports are required', 'services', nginxService, o => { o.spec.ports = [] }, 'spec.ports: Required value'],
  ['service ports are 1-65535', 'services', nginxService, o => { o.spec.ports[0].port = 65536 }, `spec.ports[0].port: Invalid value: 65536: ${PORT_RANGE}`],
  ['service port 0 is invalid', 'services', nginxService, o => { o.spec.ports[0].port = 0 }, `spec.ports[0].port: Invalid value: 0: ${PORT_RANGE}`],
  ['service ports are unique', 'services', nginxService, o => { o.spec.ports = [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }, 'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}'],
  ['service port names are unique', 'services', nginxService, o => { o.spec.ports = [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }, 'spec.ports[1].name: Duplicate value: "a"'],
  ['several service ports are named', 'services', nginxService, o => { o.spec.ports = [{ name: 'a', port: 80 }, { port: 81 }] }, 'spec.ports[1].name: Required value'],
  ['service port names are DNS labels', 'services', nginxService, o => { o.spec.ports[0].name = 'HTTP' }, `spec.ports[0].name: Invalid value: "HTTP": ${DNS1123_LABEL}`],
  ['service port protocol', 'services', nginxService, o => { o.spec.ports[0].protocol = 'ICMP' }, 'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
  ['targetPort numbers are 1-65535', 'services', nginxService, o => { o.spec.ports[0].targetPort = 70000 }, `spec.ports[0].targetPort: Invalid value: 70000: ${PORT_RANGE}`],
  ['targetPort names are IANA service names', 'services', nginxService, o => { o.spec.ports[0].targetPort = 'http_alt' }, 'spec.ports[0].targetPort: Invalid value: "http_alt": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
  ['service type', 'services', nginxService, o => { o.spec.type = 'ExternalName' }, 'spec.type: Unsupported value: "ExternalName": supported values: "ClusterIP", "NodePort", "LoadBalancer"'],
  ['nodePort range', 'services', nginxService, o => { o.spec.type = 'NodePort'; o.spec.ports[0].nodePort = 8080 }, 'spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767'],
  ['nodePort needs a NodePort service', 'services', nginxService, o => { o.spec.ports[0].nodePort = 30080 }, "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
  ['nodePorts are unique', 'services', nginxService, o => { o.spec.type = 'LoadBalancer'; o.spec.ports = [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }] }, 'spec.ports[1].nodePort: Duplicate value: 30080'],
  ['sessionAffinity', 'services', nginxService, o => { o.spec.sessionAffinity = 'Sticky' }, 'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
  ['externalTrafficPolicy', 'services', nginxService, o => { o.spec.type = 'NodePort'; o.spec.externalTrafficPolicy = 'Nearest' }, 'spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"'],
  ['clusterIP is an IP', 'services', nginxService, o => { o.spec.clusterIP = '10.0.0.300' }, 'spec.clusterIP: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  ['NodePort services are not headless', 'services', nginxService, o => { o.spec.type = 'NodePort'; o.spec.clusterIP = 'None' }, "spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for NodePort services"],
  ['service selectors are labels', 'services', nginxService, o => { o.spec.selector = { app: 'nginx web' } }, `spec.selector: Invalid value: "nginx web": ${LABEL_MSG}`],

  // ---- endpoints
  ['endpoint subsets have addresses', 'endpoints', myEndpoints, o => { o.subsets[0].addresses = [] }, 'subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`'],
  ['endpoint addresses have an ip', 'endpoints', myEndpoints, o => { o.subsets[0].addresses = [{ hostname: 'web-0' }] }, 'subsets[0].addresses[0].ip: Required value'],
  ['endpoint ips are IPs', 'endpoints', myEndpoints, o => { o.subsets[0].addresses[0].ip = 'web-0.local' }, 'subsets[0].addresses[0].ip: Invalid value: "web-0.local": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  ['not-ready endpoint ips are IPs', 'endpoints', myEndpoints, o => { o.subsets[0].notReadyAddresses = [{ ip: '2001:db8::ffff::1' }] }, 'subsets[0].notReadyAddresses[0].ip: Invalid value: "2001:db8::ffff::1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  ['endpoint hostnames are DNS labels', 'endpoints', myEndpoints, o => { o.subsets[0].addresses[0].hostname = 'web.0' }, `subsets[0].addresses[0].hostname: Invalid value: "web.0": ${DNS1123_LABEL}`],
  ['endpoint ports are 1-65535', 'endpoints', myEndpoints, o => { o.subsets[0].ports[0].port = 0 }, `subsets[0].ports[0].port: Invalid value: 0: ${PORT_RANGE}`],
  ['several endpoint ports are named', 'endpoints', myEndpoints, o => { o.subsets[0].ports = [{ name: 'http', port: 80 }, { port: 443 }] }, 'subsets[0].ports[1].name: Required value'],
  ['endpoint port protocol', 'endpoints', myEndpoints, o => { o.subsets[0].ports[0].protocol = 'tcp' }, 'subsets[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"'],

  // ---- events
  ['events name their object', 'events', startedEvent, o => { delete o.involvedObject }, 'involvedObject: Required value'],
  ['an event lives in its object\'s namespace', 'events', startedEvent, o => { o.involvedObject.namespace = 'kube-system' }, 'involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace'],
  ['a timed event names its reporter', 'events', startedEvent, o => { o.eventTime = '2025-01-01T00:00:00.000000Z'; o.action = 'Started' }, 'reportingComponent: Required value'],

  // ---- nodes and config maps
  ['taints have an effect', 'nodes', spareNode, o => { delete o.spec.taints[0].effect }, 'spec.taints[0].effect: Required value'],
  ['taint effects', 'nodes', spareNode, o => { o.spec.taints[0].effect = 'NoRun' }, 'spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
  ['taint keys are label keys', 'nodes', spareNode, o => { o.spec.taints[0].key = 'dedicated!' }, `spec.taints[0].key: Invalid value: "dedicated!": ${QNAME_MSG}`],
  ['taints are unique by key and effect', 'nodes', spareNode, o => { o.spec.taints.push({ key: 'dedicated', value: 'web', effect: 'NoSchedule' }) }, 'spec.taints[1]: Duplicate value: {"key":"dedicated","value":"web","effect":"NoSchedule"}: taints must be unique by key and effect pair'],
  [
    'config map keys', 'configmaps', gameConfig, o => { o.data = { 'a b': 'x' } },
    "data: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
  ],
  ['config map values are strings', 'configmaps', gameConfig, o => { o.data.player_initial_lives = 3 }, 'data[player_initial_lives]: Invalid value: 3: must be a string']
]

export const VALIDATION_CASES: readonly ValidationCase[] = rows.map(([rule, resource, base, change, line, opts]) => ({
  rule,
  resource,
  base,
  change,
  line,
  update: opts?.update ?? true,
  ...(opts?.urlNamespace !== undefined ? { urlNamespace: opts.urlNamespace } : {})
}))

/** The field a case's line names: what `details.causes[].field` must hold. */
export function fieldOf (c: ValidationCase): string {
  return c.line.slice(0, c.line.indexOf(': '))
}

/** Rules only an update can break: what it may not change of the stored object. */
export interface UpdateCase {
  readonly rule: string
  readonly resource: string
  readonly base: () => Manifest
  readonly change: (o: Manifest) => void
  readonly line: string
}

export const UPDATE_CASES: readonly UpdateCase[] = [
  { rule: 'a deployment selector is immutable', resource: 'deployments', base: nginxDeployment, change: o => { o.spec.selector.matchLabels.tier = 'web'; o.spec.template.metadata.labels.tier = 'web' }, line: 'spec.selector: Invalid value: {"matchLabels":{"app":"nginx","tier":"web"}}: field is immutable' },
  { rule: 'a replicaset selector is immutable', resource: 'replicasets', base: frontendReplicaSet, change: o => { o.spec.selector = { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] } }, line: 'spec.selector: Invalid value: {"matchExpressions":[{"key":"tier","operator":"In","values":["frontend"]}]}: field is immutable' },
  { rule: 'pods do not add containers', resource: 'pods', base: nginxPod, change: o => { o.spec.containers.push({ name: 'sidecar', image: 'busybox' }) }, line: 'spec.containers: Forbidden: pod updates may not add or remove containers' },
  {
    rule: 'a pod spec changes only its images', resource: 'pods', base: nginxPod, change: o => { o.spec.restartPolicy = 'Never' },
    line: 'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'
  },
  { rule: 'a service clusterIP is immutable', resource: 'services', base: () => ({ ...nginxService(), spec: { ...nginxService().spec, clusterIP: '10.96.0.10' } }), change: o => { o.spec.clusterIP = '10.96.0.11' }, line: 'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable' }
]
