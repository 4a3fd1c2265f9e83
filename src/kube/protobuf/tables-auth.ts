import { defineMessages } from './schema.ts';

// Field numbers of k8s.io/api authentication/v1 and authorization/v1 (generated.proto): the self reviews and TokenRequests kubectl sends.
defineMessages({
  SelfSubjectReview: ['metadata=1:ObjectMeta', 'status=2:SelfSubjectReviewStatus'],
  SelfSubjectReviewStatus: ['userInfo=1:UserInfo'],
  UserInfo: ['username=1:string', 'uid=2:string', 'groups=3:[]string'],
  SelfSubjectAccessReview: ['metadata=1:ObjectMeta', 'spec=2:SelfSubjectAccessReviewSpec', 'status=3:SubjectAccessReviewStatus'],
  SelfSubjectAccessReviewSpec: ['resourceAttributes=1:ResourceAttributes', 'nonResourceAttributes=2:NonResourceAttributes'],
  ResourceAttributes: [
    'namespace=1:string', 'verb=2:string', 'group=3:string', 'version=4:string', 'resource=5:string', 'subresource=6:string', 'name=7:string',
    'fieldSelector=8:FieldSelectorAttributes', 'labelSelector=9:LabelSelectorAttributes',
  ],
  FieldSelectorAttributes: ['rawSelector=1:string', 'requirements=2:[]FieldSelectorRequirement'],
  FieldSelectorRequirement: ['key=1:string', 'operator=2:string', 'values=3:[]string'],
  LabelSelectorAttributes: ['rawSelector=1:string', 'requirements=2:[]LabelSelectorRequirement'],
  NonResourceAttributes: ['path=1:string', 'verb=2:string'],
  SubjectAccessReviewStatus: ['allowed=1:bool', 'reason=2:string', 'evaluationError=3:string', 'denied=4:bool'],
  SelfSubjectRulesReview: ['metadata=1:ObjectMeta', 'spec=2:SelfSubjectRulesReviewSpec', 'status=3:SubjectRulesReviewStatus'],
  SelfSubjectRulesReviewSpec: ['namespace=1:string'],
  SubjectRulesReviewStatus: ['resourceRules=1:[]ResourceRule', 'nonResourceRules=2:[]NonResourceRule', 'incomplete=3:bool', 'evaluationError=4:string'],
  ResourceRule: ['verbs=1:[]string', 'apiGroups=2:[]string', 'resources=3:[]string', 'resourceNames=4:[]string'],
  NonResourceRule: ['verbs=1:[]string', 'nonResourceURLs=2:[]string'],
  TokenRequest: ['metadata=1:ObjectMeta', 'spec=2:TokenRequestSpec', 'status=3:TokenRequestStatus'],
  TokenRequestSpec: ['audiences=1:[]string', 'expirationSeconds=4:int64', 'boundObjectRef=3:BoundObjectReference'],
  BoundObjectReference: ['kind=1:string', 'apiVersion=2:string', 'name=3:string', 'uid=4:string'],
  TokenRequestStatus: ['token=1:string', 'expirationTimestamp=2:time'],
});
