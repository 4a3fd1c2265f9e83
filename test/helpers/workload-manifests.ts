/**
 * YAML documents of the workloads several tests apply with kubectl: a
 * StatefulSet `web` and a DaemonSet `agent` of busybox sleepers, in
 * `default`. Each test joins them with its own documents ('---').
 */

/** statefulSetYaml: StatefulSet `web` behind `serviceName`, its one container given as a YAML flow mapping. */
export function statefulSetYaml(serviceName: string, replicas: number, container: string): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  serviceName: ${serviceName}
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [${container}]
`;
}

/** AGENT_DAEMONSET: DaemonSet `agent`, a busybox sleeper on every node. */
export const AGENT_DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`;
