# One blob snapshot (roles/minio, docs/operations.md "Blob backups"). Remotes from the environment: "store" is
# Stalwart's blob bucket, "backup" the second S3 target. Layout under BACKUP_PATH (bucket/prefix):
#   blobs/<key>                        every blob a snapshot lists, copied once, never changed; deleted only by
#                                      pruning, once no remaining snapshot lists it
#   snapshots/<id>/objects.txt         the keys the store held when the snapshot started
#   snapshots/<id>/snapshot.json       written last: the snapshot is complete, and the pair it records
# SNAPSHOTS_KEEP (0: keep all): after a complete snapshot, the newest SNAPSHOTS_KEEP complete ones are kept.
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

# Pruning. One run at a time (the CronJob's concurrencyPolicy: Forbid). A pruned snapshot loses its snapshot.json
# first (from then on it is incomplete, never restored from), then its listing; blobs go last, only those no
# remaining listing names. Interrupted anywhere, every complete snapshot still has all its blobs, and the next run
# finishes the job (an incomplete snapshot older than the newest complete one is pruned).
keep=${SNAPSHOTS_KEEP:-0}
[ "$keep" -gt 0 ] || exit 0
snaps="backup:$BACKUP_PATH/snapshots"
rclone lsf -R --files-only "$snaps" > "$work/files.txt"
# snapshot folders only (<yyyymmdd>T<hhmmss>Z): nothing else under snapshots/ is touched
awk -F/ 'NF == 2 && length($1) == 16 && $1 ~ /^[0-9]+T[0-9]+Z$/ { print $1 }' "$work/files.txt" | sort -u > "$work/all.txt"
awk -F/ 'NF == 2 && $2 == "snapshot.json" { print $1 }' "$work/files.txt" | sort > "$work/complete.txt"
tail -n "$keep" "$work/complete.txt" > "$work/kept.txt"
if ! grep -qx "$id" "$work/kept.txt"; then
  echo "blob backup: snapshot $id is not among the newest complete ones listed; nothing pruned" >&2
  exit 1
fi
newest=$(tail -n 1 "$work/complete.txt")
awk -v newest="$newest" 'FILENAME == ARGV[1] { complete[$0] = 1; next } FILENAME == ARGV[2] { kept[$0] = 1; next }
  !($0 in kept) && $0 < newest { print (($0 in complete) ? "complete " : "incomplete ") $0 }' \
  "$work/complete.txt" "$work/kept.txt" "$work/all.txt" > "$work/pruned.txt"
while read -r state old; do
  if [ "$state" = complete ]; then
    rclone deletefile "$snaps/$old/snapshot.json"
  fi
  rclone purge "$snaps/$old"
  echo "blob backup: pruned snapshot $old" >&2
done < "$work/pruned.txt"
# The blobs some remaining listing names (every kept snapshot has one: a failed read stops the run here).
: > "$work/referenced.txt"
rclone lsf -R --files-only "$snaps" | awk -F/ 'NF == 2 && $2 == "objects.txt" { print $1 }' > "$work/listings.txt"
for kept in $(cat "$work/kept.txt"); do
  grep -qx "$kept" "$work/listings.txt" || { echo "blob backup: snapshot $kept has no listing; no blob deleted" >&2; exit 1; }
done
while read -r listed; do
  rclone cat "$snaps/$listed/objects.txt" > "$work/listing.txt"
  sort -u -o "$work/referenced.txt" "$work/referenced.txt" "$work/listing.txt"
done < "$work/listings.txt"
rclone lsf -R --files-only "backup:$BACKUP_PATH/blobs" > "$work/blobs.txt"
awk 'FILENAME == ARGV[1] { referenced[$0] = 1; next } !($0 in referenced)' "$work/referenced.txt" "$work/blobs.txt" > "$work/unreferenced.txt"
if [ -s "$work/unreferenced.txt" ]; then
  rclone delete --files-from-raw "$work/unreferenced.txt" "backup:$BACKUP_PATH/blobs"
fi
echo "blob backup: kept $(wc -l < "$work/kept.txt" | tr -d ' ') snapshots, deleted $(wc -l < "$work/unreferenced.txt" | tr -d ' ') blobs" >&2
