import { defineMessages } from './schema.ts';

// Field numbers of k8s.io/api core/v1, batch/v1, rbac/v1 and networking/v1
// (generated.proto) for the issue 17 kinds kubectl's typed commands create:
// `kubectl create secret|serviceaccount|job|cronjob|role|rolebinding|clusterrole|clusterrolebinding|ingress`.
// `?` marks Go pointer fields (zero kept); `@` an inline struct.
defineMessages({
  Secret: ['metadata=1:ObjectMeta', 'data=2:map<bytes>', 'type=3:string', 'stringData=4:map<string>', 'immutable=5:bool?'],
  ServiceAccount: ['metadata=1:ObjectMeta', 'secrets=2:[]ObjectReference', 'imagePullSecrets=3:[]LocalObjectReference', 'automountServiceAccountToken=4:bool?'],
  ObjectReference: ['kind=1:string', 'namespace=2:string', 'name=3:string', 'uid=4:string', 'apiVersion=5:string', 'resourceVersion=6:string', 'fieldPath=7:string'],

  Job: ['metadata=1:ObjectMeta', 'spec=2:JobSpec', 'status=3:JobStatus'],
  JobSpec: [
    'parallelism=1:int32?', 'completions=2:int32?', 'activeDeadlineSeconds=3:int64?', 'selector=4:LabelSelector', 'manualSelector=5:bool?',
    'template=6:PodTemplateSpec', 'backoffLimit=7:int32?', 'ttlSecondsAfterFinished=8:int32?', 'completionMode=9:string?', 'suspend=10:bool?',
    'backoffLimitPerIndex=12:int32?', 'maxFailedIndexes=13:int32?', 'podReplacementPolicy=14:string?', 'managedBy=15:string?',
  ],
  JobStatus: [
    'startTime=2:time', 'completionTime=3:time', 'active=4:int32', 'succeeded=5:int32', 'failed=6:int32', 'completedIndexes=7:string',
    'ready=9:int32?', 'failedIndexes=10:string?', 'terminating=11:int32?',
  ],
  CronJob: ['metadata=1:ObjectMeta', 'spec=2:CronJobSpec', 'status=3:CronJobStatus'],
  CronJobSpec: [
    'schedule=1:string', 'startingDeadlineSeconds=2:int64?', 'concurrencyPolicy=3:string', 'suspend=4:bool?', 'jobTemplate=5:JobTemplateSpec',
    'successfulJobsHistoryLimit=6:int32?', 'failedJobsHistoryLimit=7:int32?', 'timeZone=8:string?',
  ],
  JobTemplateSpec: ['metadata=1:ObjectMeta', 'spec=2:JobSpec'],
  CronJobStatus: ['active=1:[]ObjectReference', 'lastScheduleTime=4:time', 'lastSuccessfulTime=5:time'],
  // A pod template read back from the server (`kubectl create job --from=cronjob/x`) carries the defaulted securityContext.
  PodSecurityContext: [
    'runAsUser=2:int64?', 'runAsNonRoot=3:bool?', 'fsGroup=5:int64?', 'runAsGroup=6:int64?', 'fsGroupChangePolicy=9:string?',
    'supplementalGroupsPolicy=12:string?', 'seLinuxChangePolicy=13:string?',
  ],

  Role: ['metadata=1:ObjectMeta', 'rules=2:[]PolicyRule'],
  ClusterRole: ['metadata=1:ObjectMeta', 'rules=2:[]PolicyRule', 'aggregationRule=3:AggregationRule'],
  PolicyRule: ['verbs=1:[]string', 'apiGroups=2:[]string', 'resources=3:[]string', 'resourceNames=4:[]string', 'nonResourceURLs=5:[]string'],
  AggregationRule: ['clusterRoleSelectors=1:[]LabelSelector'],
  RoleBinding: ['metadata=1:ObjectMeta', 'subjects=2:[]Subject', 'roleRef=3:RoleRef'],
  ClusterRoleBinding: ['metadata=1:ObjectMeta', 'subjects=2:[]Subject', 'roleRef=3:RoleRef'],
  Subject: ['kind=1:string', 'apiGroup=2:string', 'name=3:string', 'namespace=4:string'],
  RoleRef: ['apiGroup=1:string', 'kind=2:string', 'name=3:string'],

  Ingress: ['metadata=1:ObjectMeta', 'spec=2:IngressSpec', 'status=3:IngressStatus'],
  IngressSpec: ['defaultBackend=1:IngressBackend', 'tls=2:[]IngressTLS', 'rules=3:[]IngressRule', 'ingressClassName=4:string?'],
  IngressBackend: ['resource=3:TypedLocalObjectReference', 'service=4:IngressServiceBackend'],
  IngressServiceBackend: ['name=1:string', 'port=2:ServiceBackendPort'],
  ServiceBackendPort: ['name=1:string', 'number=2:int32'],
  TypedLocalObjectReference: ['apiGroup=1:string?', 'kind=2:string', 'name=3:string'],
  IngressTLS: ['hosts=1:[]string', 'secretName=2:string'],
  IngressRule: ['host=1:string', 'ingressRuleValue=2:@IngressRuleValue'],
  IngressRuleValue: ['http=1:HTTPIngressRuleValue'],
  HTTPIngressRuleValue: ['paths=1:[]HTTPIngressPath'],
  HTTPIngressPath: ['path=1:string', 'backend=2:IngressBackend', 'pathType=3:string?'],
  IngressStatus: ['loadBalancer=1:IngressLoadBalancerStatus'],
  IngressLoadBalancerStatus: [],
});
