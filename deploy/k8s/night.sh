#!/usr/bin/env bash
# Runs one night on Kubernetes with kubectl: the plan, the shards (an
# Indexed Job), then the merge, each once the one before has completed
# (Jobs have no dependencies of their own). Run it from a host, or from a
# CronJob pod whose service account may create, read and delete Jobs:
#   deploy/k8s/night.sh [NAMESPACE]
set -euo pipefail
ns=${1:-default}
here=$(dirname "$(realpath "$0")")
k() { kubectl --namespace "$ns" "$@"; }

# Waits until the Job has completed (0) or failed (1).
wait_job() {
  local conditions
  while :; do
    conditions=$(k get job "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
    case " $conditions " in
      *" Complete "*) return 0 ;;
      *" Failed "*) echo "night.sh: job $1 failed (kubectl logs job/$1)" >&2; return 1 ;;
    esac
    sleep 30
  done
}

k apply -f "$here/storage.yaml"
for step in plan shards merge; do
  k delete job "sohoa-$step" --ignore-not-found --wait=true
done
for step in plan shards merge; do
  k create -f "$here/$step-job.yaml"
  wait_job "sohoa-$step"
done
