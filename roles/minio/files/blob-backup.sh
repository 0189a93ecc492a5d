# One blob snapshot (roles/minio, docs/operations.md "Blob backups"). Remotes from the environment: "store" is
# Stalwart's blob bucket, "backup" the second S3 target. Layout under BACKUP_PATH (bucket/prefix):
#   blobs/<key>                        every blob ever seen, copied once (append-only: never deleted, never changed)
#   snapshots/<id>/objects.txt         the keys the store held when the snapshot started
#   snapshots/<id>/snapshot.json       written last: the snapshot is complete, and the pair it records
set -eu
work="${TMPDIR:-/tmp}/blob-backup"
rm -rf "$work" && mkdir -p "$work"
id=$(date -u +%Y%m%dT%H%M%SZ)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The newest database base backup when the snapshot starts (the Barman layout: <server path>/base/<backup id>/).
base=""
if [ -n "${DATABASE_PATH:-}" ]; then
  base=$(rclone lsf --dirs-only "backup:$DATABASE_PATH/base" | tr -cd 'A-Za-z0-9._\n-' | sort | tail -n 1)
fi
# The snapshot is the set of blobs the store holds now; blobs are write-once, so copying each key once suffices
# (--immutable fails the run if a key ever changed content).
rclone lsf -R --files-only "store:$STORE_BUCKET" > "$work/objects.txt"
rclone copy --immutable --no-traverse --files-from-raw "$work/objects.txt" "store:$STORE_BUCKET" "backup:$BACKUP_PATH/blobs"
rclone copyto "$work/objects.txt" "backup:$BACKUP_PATH/snapshots/$id/objects.txt"
count=$(wc -l < "$work/objects.txt" | tr -d ' ')
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"id": "%s", "started": "%s", "finished": "%s", "store_bucket": "%s", "objects": %s, "listing": "snapshots/%s/objects.txt", "blobs": "blobs/", "database_path": "%s", "database_base_backup": "%s"}\n' \
  "$id" "$started" "$finished" "$STORE_BUCKET" "$count" "$id" "${DATABASE_PATH:-}" "$base" > "$work/snapshot.json"
rclone copyto "$work/snapshot.json" "backup:$BACKUP_PATH/snapshots/$id/snapshot.json"
cat "$work/snapshot.json"
