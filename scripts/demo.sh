#!/usr/bin/env bash
# The main job on a built-in local demo target: a source tree and its
# mirror under ./demo, a backup.tab naming them, and the nightly cycle.
set -euo pipefail
BACKUP=$(realpath "${1:-bin/backup}")
DEMO=$(realpath -m demo)
rm -rf "$DEMO"
mkdir -p "$DEMO/source" "$DEMO/mirror"
cd "$DEMO"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || echo "(exit $?)"; }

# A small data partition: nested directories, an empty one, a symlink, an
# executable, a name with a space and one with non-ASCII letters.
mkdir -p source/detrend/2026/nov source/detrend/empty source/tests source/scratch
for i in 1 2 3 4 5; do
  head -c $((i * 7000)) /dev/urandom > "source/detrend/2026/nov/frame$i.fits"
done
echo "calibration notes" > "source/detrend/read me.txt"
echo "données" > "source/detrend/données.txt"
printf '#!/bin/sh\necho ok\n' > source/tests/run.sh && chmod 755 source/tests/run.sh
ln -s ../detrend/2026 source/tests/latest
echo "not copied: scratch is not a DIR of the target" > source/scratch/tmp.txt

cat > backup.tab <<TAB
 # /data/elixir
 TARGET  elixir
         SOURCE  $DEMO/source
         MIRROR  $DEMO/mirror
         DIR     detrend
         DIR     tests
TAB
export BACKUP_TAB=$DEMO/backup.tab

step "$BACKUP" -targets
step "$BACKUP" -status elixir
step "$BACKUP" init elixir
step "$BACKUP" -backup elixir --dry-run
step "$BACKUP" -backup elixir -v

# A day's work on the source: an edit, a new file, two deletions.
echo "more notes" >> "source/detrend/read me.txt"
head -c 50000 /dev/urandom > source/detrend/2026/nov/frame6.fits
rm source/detrend/2026/nov/frame1.fits source/tests/run.sh

step "$BACKUP" -backup elixir --dry-run
step "$BACKUP" -backup elixir -v
step "$BACKUP" -check elixir
step "$BACKUP" -status elixir

# The flaw this tool exists for: the source partition is not mounted.
mv source source.unmounted && mkdir source
step "$BACKUP" -backup elixir
rmdir source && mv source.unmounted source

echo
echo "The deleted and replaced files are kept in the mirror's trash:"
find mirror/.backup-trash -type f | sort
if command -v rsync >/dev/null; then
  echo
  echo "rsync's view of the difference between the trees (none expected):"
  rsync -a -c -n -i --delete source/detrend/ mirror/detrend/
  rsync -a -c -n -i --delete source/tests/ mirror/tests/
  echo "(end)"
fi
