import { defineMessages } from './schema.ts';

// Field numbers of k8s.io/apimachinery pkg/apis/meta/v1 (generated.proto).
// `?` marks Go pointer fields (zero kept); `@` an inline struct.
defineMessages({
  ObjectMeta: [
    'name=1:string', 'generateName=2:string', 'namespace=3:string', 'selfLink=4:string', 'uid=5:string',
    'resourceVersion=6:string', 'generation=7:int64', 'creationTimestamp=8:time', 'deletionTimestamp=9:time',
    'deletionGracePeriodSeconds=10:int64?', 'labels=11:map<string>', 'annotations=12:map<string>',
    'ownerReferences=13:[]OwnerReference', 'finalizers=14:[]string',
  ],
  OwnerReference: [
    'kind=1:string', 'name=3:string', 'uid=4:string', 'apiVersion=5:string', 'controller=6:bool?', 'blockOwnerDeletion=7:bool?',
  ],
  LabelSelector: ['matchLabels=1:map<string>', 'matchExpressions=2:[]LabelSelectorRequirement'],
  LabelSelectorRequirement: ['key=1:string', 'operator=2:string', 'values=3:[]string'],
  // The body of a DELETE (kubectl drain, helm uninstall); pointers, so that gracePeriodSeconds 0 is kept.
  DeleteOptions: [
    'gracePeriodSeconds=1:int64?', 'preconditions=2:Preconditions', 'orphanDependents=3:bool?', 'propagationPolicy=4:string', 'dryRun=5:[]string',
    'ignoreStoreReadErrorWithClusterBreakingPotential=6:bool?',
  ],
  Preconditions: ['uid=1:string', 'resourceVersion=2:string'],
});
