import { defineMessages } from './schema.ts';

// Field numbers of k8s.io/api apps/v1 (generated.proto).
defineMessages({
  Deployment: ['metadata=1:ObjectMeta', 'spec=2:DeploymentSpec', 'status=3:DeploymentStatus'],
  DeploymentSpec: [
    'replicas=1:int32?', 'selector=2:LabelSelector', 'template=3:PodTemplateSpec', 'strategy=4:DeploymentStrategy',
    'minReadySeconds=5:int32', 'revisionHistoryLimit=6:int32?', 'paused=7:bool', 'progressDeadlineSeconds=9:int32?',
  ],
  DeploymentStrategy: ['type=1:string', 'rollingUpdate=2:RollingUpdateDeployment'],
  RollingUpdateDeployment: ['maxUnavailable=1:intstr?', 'maxSurge=2:intstr?'],
  DeploymentStatus: [
    'observedGeneration=1:int64', 'replicas=2:int32', 'updatedReplicas=3:int32', 'availableReplicas=4:int32',
    'unavailableReplicas=5:int32', 'readyReplicas=7:int32', 'collisionCount=8:int32?', 'terminatingReplicas=9:int32?',
  ],
  ReplicaSet: ['metadata=1:ObjectMeta', 'spec=2:ReplicaSetSpec', 'status=3:ReplicaSetStatus'],
  ReplicaSetSpec: ['replicas=1:int32?', 'selector=2:LabelSelector', 'template=3:PodTemplateSpec', 'minReadySeconds=4:int32'],
  ReplicaSetStatus: [
    'replicas=1:int32', 'fullyLabeledReplicas=2:int32', 'observedGeneration=3:int64', 'readyReplicas=4:int32',
    'availableReplicas=5:int32', 'terminatingReplicas=7:int32?',
  ],
});
