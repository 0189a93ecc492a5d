#!/bin/sh
# Stalwart 0.16 reads its certificate files at start and again on the ReloadTlsCertificates action
# (x:Action/set), never on its own. This loop runs beside it in the pod (stalwart_tls_reload: api) with the
# Stalwart image's own sh, curl and coreutils, and asks the local server to reload whenever the kubelet has
# swapped the mounted TLS Secret: every new version of a Secret volume re-points its ..data link.
#   TLS_DIR                  the mounted Secret (cert-manager's tls.crt, tls.key)
#   STALWART_API             Stalwart's HTTP listener in the pod, e.g. http://127.0.0.1:8080
#   STALWART_RECOVERY_ADMIN  user:password (never on a command line: the header goes to curl on stdin)
#   INTERVAL                 seconds between looks at ..data
set -u
body='{"using":["urn:ietf:params:jmap:core","urn:stalwart:jmap"],"methodCalls":[["x:Action/set",{"create":{"reload":{"@type":"ReloadTlsCertificates"}}},"0"]]}'
done_for=""
while :; do
  current=$(readlink "$TLS_DIR/..data" 2>/dev/null || true)
  # The first version too: one that arrived while the server was starting would otherwise be missed.
  if [ -n "$current" ] && [ "$current" != "$done_for" ]; then
    auth=$(printf '%s' "$STALWART_RECOVERY_ADMIN" | base64 | tr -d '\n')
    if reply=$(printf 'Authorization: Basic %s\n' "$auth" \
        | curl -fsS -m 30 -H @- -H 'Content-Type: application/json' --data-binary "$body" "$STALWART_API/jmap/" 2>&1); then
      case $reply in
        *'"notCreated"'* | *'["error"'*) echo "tls-reload: Stalwart refused the reload: $reply" >&2 ;;
        *'"created"'*) echo "tls-reload: certificates reloaded (TLS Secret version $current)"; done_for=$current ;;
        *) echo "tls-reload: unexpected answer: $reply" >&2 ;;
      esac
    else
      echo "tls-reload: Stalwart API not answering yet: $reply" >&2
    fi
  fi
  sleep "$INTERVAL"
done
