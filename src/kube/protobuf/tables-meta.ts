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
});
