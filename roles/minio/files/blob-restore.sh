# Restores one blob snapshot (roles/minio, docs/operations.md "Restore"): the snapshot SNAPSHOT, or else the first
# complete one that started at or after NOT_BEFORE (a UTC stamp such as 20261125T080000Z: the database's recovery
# target), or else the newest. Copies the blobs it lists from the backup's blobs/ into the store
# bucket, then compares every one of them (size and hash) between the two and reads back each key VERIFY_BLOBS
# names (space-separated; a known message's blob): exit 2 when no snapshot fits, 3 when a named blob is missing.
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
# Read back in full: S3 has no directories, so a missing key would pass for an empty folder, but never for a file.
for key in ${VERIFY_BLOBS:-}; do
  rm -rf "$work/verify"
  rclone copyto "store:$STORE_BUCKET/$key" "$work/verify" > /dev/null 2>&1 || true
  if [ ! -f "$work/verify" ]; then
    echo "blob $key does not read back from store:$STORE_BUCKET after restoring snapshot $id" >&2
    exit 3
  fi
done
rclone cat "backup:$BACKUP_PATH/snapshots/$id/snapshot.json"
