#!/usr/bin/env bash
# What fidelity costs, measured on local paths (not a test; prints figures):
#   1. hard-link tracking at 100,000 files: an initial copy and a no-change
#      rerun with hard_links = true and = false (wall time, peak RSS);
#   2. sparse copies: a 1 GiB image with 10 % data, backup against
#      rsync -S (wall time, allocated size of the copy).
# Usage: scripts/fidelity-figures.sh [bin/backup] [workdir]
set -euo pipefail
BACKUP=$(realpath "${1:-bin/backup}")
WORK=$(realpath -m "${2:-/tmp/fidelity-figures}")
rm -rf "$WORK" && mkdir -p "$WORK"
cd "$WORK"

# measure LABEL CMD...: wall seconds and peak RSS of one run.
measure() {
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %M KiB peak RSS, exit %x" "$@" >/dev/null 2>"$WORK/time.err" || true
  tail -1 "$WORK/time.err"
}

target() { # target NAME: a table and settings for source/NAME → mirror/NAME
  mkdir -p "source/$1/data" "mirror/$1"
  cat >> backup.tab <<TAB
 TARGET  $1
         SOURCE  $WORK/source/$1
         MIRROR  $WORK/mirror/$1
         DIR     data
TAB
}

: > backup.tab
target links
target nolinks
target sparse
cat > backup.toml <<TOML
[targets.links]
hard_links = true
[targets.nolinks]
hard_links = false
TOML
export BACKUP_TAB=$WORK/backup.tab BACKUP_CONFIG=$WORK/backup.toml

echo "== 1. hard links: 100,000 files of 0–200 B, one in ten linked to its neighbour"
python3 - "$WORK/source/links/data" <<'PY'
import os, sys, random
root = sys.argv[1]
random.seed(1)
for d in range(1000):
    dp = os.path.join(root, "d%04d" % d)
    os.makedirs(dp)
    for f in range(100):
        p = os.path.join(dp, "f%03d" % f)
        if f % 10 == 9:
            os.link(os.path.join(dp, "f%03d" % (f - 1)), p)
            continue
        with open(p, "wb") as fh:
            fh.write(os.urandom(random.randint(0, 200)))
PY
cp -a source/links/data/. source/nolinks/data/
for t in links nolinks; do
  "$BACKUP" init "$t" >/dev/null
  measure "$t initial" "$BACKUP" backup "$t"
  measure "$t rerun  " "$BACKUP" backup "$t"
done
echo "inodes on the mirror: links $(find mirror/links/data -type f -printf '%i\n' | sort -u | wc -l), nolinks $(find mirror/nolinks/data -type f -printf '%i\n' | sort -u | wc -l)"

echo "== 2. sparse: a 1 GiB image with 10 % data (one 1 MiB extent in every 10 MiB)"
img=source/sparse/data/disk.img
truncate -s 1G "$img"
for i in $(seq 0 10 1023); do
  dd if=/dev/urandom of="$img" bs=1M count=1 seek="$i" conv=notrunc status=none
done
sync
"$BACKUP" init sparse >/dev/null
measure "backup  " "$BACKUP" backup sparse
mkdir -p "$WORK/rsync-S"
measure "rsync -S" rsync -aS "$WORK/source/sparse/data/" "$WORK/rsync-S/"
echo "allocated: source $(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) on disk;" \
  "backup's copy $(du -h mirror/sparse/data/disk.img | cut -f1), rsync -S's $(du -h rsync-S/disk.img | cut -f1)"
cmp "$img" mirror/sparse/data/disk.img && echo "backup's copy is byte-identical"
