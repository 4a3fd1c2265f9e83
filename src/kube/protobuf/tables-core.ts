import { defineMessages } from './schema.ts';

// Field numbers of k8s.io/api core/v1 (generated.proto), for the kinds the
// apiserver serves and kubectl's typed commands create.
// `?` marks Go pointer fields (zero kept); `@` an inline struct.
defineMessages({
  Namespace: ['metadata=1:ObjectMeta', 'spec=2:NamespaceSpec', 'status=3:NamespaceStatus'],
  NamespaceSpec: ['finalizers=1:[]string'],
  NamespaceStatus: ['phase=1:string'],

  ConfigMap: ['metadata=1:ObjectMeta', 'data=2:map<string>', 'binaryData=3:map<bytes>', 'immutable=4:bool?'],

  Service: ['metadata=1:ObjectMeta', 'spec=2:ServiceSpec', 'status=3:ServiceStatus'],
  ServiceSpec: [
    'ports=1:[]ServicePort', 'selector=2:map<string>', 'clusterIP=3:string', 'type=4:string', 'externalIPs=5:[]string',
    'sessionAffinity=7:string', 'loadBalancerIP=8:string', 'loadBalancerSourceRanges=9:[]string', 'externalName=10:string',
    'externalTrafficPolicy=11:string', 'healthCheckNodePort=12:int32', 'publishNotReadyAddresses=13:bool',
    'sessionAffinityConfig=14:SessionAffinityConfig', 'ipFamilyPolicy=17:string?', 'clusterIPs=18:[]string',
    'ipFamilies=19:[]string', 'allocateLoadBalancerNodePorts=20:bool?', 'loadBalancerClass=21:string?',
    'internalTrafficPolicy=22:string?', 'trafficDistribution=23:string?',
  ],
  ServicePort: [
    'name=1:string', 'protocol=2:string', 'port=3:int32', 'targetPort=4:intstr', 'nodePort=5:int32', 'appProtocol=6:string?',
  ],
  SessionAffinityConfig: ['clientIP=1:ClientIPConfig'],
  ClientIPConfig: ['timeoutSeconds=1:int32?'],
  ServiceStatus: ['loadBalancer=1:LoadBalancerStatus'],
  LoadBalancerStatus: [],

  Pod: ['metadata=1:ObjectMeta', 'spec=2:PodSpec', 'status=3:PodStatus'],
  PodTemplateSpec: ['metadata=1:ObjectMeta', 'spec=2:PodSpec'],
  PodSpec: [
    'volumes=1:[]Volume', 'containers=2:[]Container', 'restartPolicy=3:string', 'terminationGracePeriodSeconds=4:int64?',
    'activeDeadlineSeconds=5:int64?', 'dnsPolicy=6:string', 'nodeSelector=7:map<string>', 'serviceAccountName=8:string',
    'serviceAccount=9:string', 'nodeName=10:string', 'hostNetwork=11:bool', 'hostPID=12:bool', 'hostIPC=13:bool', 'securityContext=14:PodSecurityContext',
    'hostname=16:string', 'subdomain=17:string', 'affinity=18:Affinity', 'schedulerName=19:string',
    'initContainers=20:[]Container', 'automountServiceAccountToken=21:bool?', 'tolerations=22:[]Toleration',
    'priorityClassName=24:string', 'priority=25:int32?', 'enableServiceLinks=30:bool?', 'preemptionPolicy=31:string?',
  ],
  PodStatus: [
    'phase=1:string', 'message=3:string', 'reason=4:string', 'hostIP=5:string', 'podIP=6:string',
    'startTime=7:time', 'qosClass=9:string', 'nominatedNodeName=11:string', 'resize=14:string',
  ],
  Container: [
    'name=1:string', 'image=2:string', 'command=3:[]string', 'args=4:[]string', 'workingDir=5:string',
    'ports=6:[]ContainerPort', 'env=7:[]EnvVar', 'resources=8:ResourceRequirements', 'volumeMounts=9:[]VolumeMount',
    'livenessProbe=10:Probe', 'readinessProbe=11:Probe', 'terminationMessagePath=13:string', 'imagePullPolicy=14:string',
    'stdin=16:bool', 'stdinOnce=17:bool', 'tty=18:bool', 'envFrom=19:[]EnvFromSource',
    'terminationMessagePolicy=20:string', 'startupProbe=22:Probe', 'restartPolicy=24:string?',
  ],
  ContainerPort: ['name=1:string', 'hostPort=2:int32', 'containerPort=3:int32', 'protocol=4:string', 'hostIP=5:string'],
  EnvVar: ['name=1:string', 'value=2:string', 'valueFrom=3:EnvVarSource'],
  EnvVarSource: [
    'fieldRef=1:ObjectFieldSelector', 'resourceFieldRef=2:ResourceFieldSelector',
    'configMapKeyRef=3:ConfigMapKeySelector', 'secretKeyRef=4:SecretKeySelector',
  ],
  ObjectFieldSelector: ['apiVersion=1:string', 'fieldPath=2:string'],
  ResourceFieldSelector: ['containerName=1:string', 'resource=2:string', 'divisor=3:quantity'],
  ConfigMapKeySelector: ['localObjectReference=1:@LocalObjectReference', 'key=2:string', 'optional=3:bool?'],
  SecretKeySelector: ['localObjectReference=1:@LocalObjectReference', 'key=2:string', 'optional=3:bool?'],
  EnvFromSource: ['prefix=1:string', 'configMapRef=2:ConfigMapEnvSource', 'secretRef=3:SecretEnvSource'],
  ConfigMapEnvSource: ['localObjectReference=1:@LocalObjectReference', 'optional=2:bool?'],
  SecretEnvSource: ['localObjectReference=1:@LocalObjectReference', 'optional=2:bool?'],
  LocalObjectReference: ['name=1:string'],
  ResourceRequirements: ['limits=1:map<quantity>', 'requests=2:map<quantity>'],
  VolumeMount: [
    'name=1:string', 'readOnly=2:bool', 'mountPath=3:string', 'subPath=4:string', 'mountPropagation=5:string?', 'subPathExpr=6:string',
  ],
  Probe: [
    'handler=1:@ProbeHandler', 'initialDelaySeconds=2:int32', 'timeoutSeconds=3:int32', 'periodSeconds=4:int32',
    'successThreshold=5:int32', 'failureThreshold=6:int32', 'terminationGracePeriodSeconds=7:int64?',
  ],
  ProbeHandler: ['exec=1:ExecAction', 'httpGet=2:HTTPGetAction', 'tcpSocket=3:TCPSocketAction'],
  ExecAction: ['command=1:[]string'],
  HTTPGetAction: ['path=1:string', 'port=2:intstr', 'host=3:string', 'scheme=4:string', 'httpHeaders=5:[]HTTPHeader'],
  HTTPHeader: ['name=1:string', 'value=2:string'],
  TCPSocketAction: ['port=1:intstr', 'host=2:string'],
  Toleration: ['key=1:string', 'operator=2:string', 'value=3:string', 'effect=4:string', 'tolerationSeconds=5:int64?'],
  Affinity: ['nodeAffinity=1:NodeAffinity'],
  NodeAffinity: [
    'requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector',
    'preferredDuringSchedulingIgnoredDuringExecution=2:[]PreferredSchedulingTerm',
  ],
  NodeSelector: ['nodeSelectorTerms=1:[]NodeSelectorTerm'],
  NodeSelectorTerm: ['matchExpressions=1:[]NodeSelectorRequirement', 'matchFields=2:[]NodeSelectorRequirement'],
  NodeSelectorRequirement: ['key=1:string', 'operator=2:string', 'values=3:[]string'],
  PreferredSchedulingTerm: ['weight=1:int32', 'preference=2:NodeSelectorTerm'],
  Volume: ['name=1:string', 'volumeSource=2:@VolumeSource'],
  VolumeSource: ['emptyDir=2:EmptyDirVolumeSource', 'configMap=19:ConfigMapVolumeSource'],
  EmptyDirVolumeSource: ['medium=1:string', 'sizeLimit=2:quantity'],
  ConfigMapVolumeSource: [
    'localObjectReference=1:@LocalObjectReference', 'items=2:[]KeyToPath', 'defaultMode=3:int32?', 'optional=4:bool?',
  ],
  KeyToPath: ['key=1:string', 'path=2:string', 'mode=3:int32?'],
});
