#!/bin/sh
# Stalwart nodes of two versions must never run against the same database. A rendered bundle (GitOps) cannot scale
# the StatefulSet to zero before the new image as apply mode does, so each Stalwart pod starts with this init
# container (the Stalwart image's own sh and curl): it deletes every Stalwart pod of this instance that runs another
# version and waits until none is left. The first new pod the rolling update creates thereby stops all the old ones
# (the StatefulSet brings them back at the new version); Stalwart itself starts only once no old node runs. With no
# pod of another version it returns at once.
#   KUBE_API     the API server, https://kubernetes.default.svc
#   KUBE_TOKEN   file holding the pod's projected ServiceAccount token (mounted in this container only)
#   KUBE_CA      file holding the cluster CA (kube-root-ca.crt)
#   NAMESPACE    the pod's namespace
#   OTHERS       URL-encoded label selector: this instance's Stalwart pods whose version label is not this pod's
#   INTERVAL     seconds between looks
set -eu
api() {
  printf 'Authorization: Bearer %s\n' "$(cat "$KUBE_TOKEN")" \
    | curl -fsS -m 30 --cacert "$KUBE_CA" -H @- -H 'Accept: application/json' -X "$1" "$KUBE_API$2"
}
pods="/api/v1/namespaces/$NAMESPACE/pods?labelSelector=$OTHERS"
while :; do
  reply=$(api GET "$pods")
  case $reply in
    *'"items":[]'* | *'"items": []'* | *'"items":null'* | *'"items": null'*)
      echo "version-gate: no Stalwart pod of another version runs"
      exit 0 ;;
  esac
  echo "version-gate: stopping the Stalwart pods of another version before this one starts"
  api DELETE "$pods" >/dev/null
  sleep "$INTERVAL"
done
