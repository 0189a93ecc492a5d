# Restores one blob snapshot (roles/minio, docs/operations.md "Restore"): the snapshot SNAPSHOT, or else the first
# complete one that started at or after NOT_BEFORE (a UTC stamp such as 20261125T080000Z: the database's recovery
# target), or else the newest. Copies the blobs it lists from the backup's append-only blobs/ into the store
# bucket, then compares every one of them (size and hash) between the two: exit 2 when no snapshot fits.
set -eu
work="${TMPDIR:-/tmp}/blob-restore"
rm -rf "$work" && mkdir -p "$work"
rclone lsf -R --files-only --include "*/snapshot.json" "backup:$BACKUP_PATH/snapshots" | sed 's#/snapshot.json$##' | sort > "$work/complete.txt"
if [ -n "${SNAPSHOT:-}" ]; then
  id=$(grep -x -F -e "$SNAPSHOT" "$work/complete.txt" || true)
elif [ -n "${NOT_BEFORE:-}" ]; then
  id=$(awk -v t="$NOT_BEFORE" '$0 >= t' "$work/complete.txt" | head -n 1)
else
  id=$(tail -n 1 "$work/complete.txt")
fi
if [ -z "$id" ]; then
  echo "no complete blob snapshot in backup:$BACKUP_PATH/snapshots fits (snapshot '${SNAPSHOT:-}', not before '${NOT_BEFORE:-}'); complete ones: $(tr '\n' ' ' < "$work/complete.txt")" >&2
  exit 2
fi
rclone copyto "backup:$BACKUP_PATH/snapshots/$id/objects.txt" "$work/objects.txt"
rclone copy --no-traverse --files-from-raw "$work/objects.txt" "backup:$BACKUP_PATH/blobs" "store:$STORE_BUCKET"
rclone check --one-way --files-from-raw "$work/objects.txt" "backup:$BACKUP_PATH/blobs" "store:$STORE_BUCKET"
rclone cat "backup:$BACKUP_PATH/snapshots/$id/snapshot.json"
