#!/usr/bin/env bash
# The unprivileged pass: root reads every file, so a test of what the tool
# does when it is denied access (an unreadable file, a directory it cannot
# list) proves nothing as root. The tests named TestPerm... are built here
# (as the invoking user, root in CI) and run as a user without privileges
# ($BACKUP_TEST_USER, default backuptest, created when missing), with their
# own HOME and TMPDIR. The pass fails when it ran no test at all.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
user=${BACKUP_TEST_USER:-backuptest}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/bin" "$work/home" "$work/tmp"

if [ "$(id -u)" = 0 ]; then
  if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "/var/lib/$user" --shell /bin/sh "$user"
  fi
  # sshd (transport/sshtest) starts sessions in the user's home.
  home=$(getent passwd "$user" | cut -d: -f6)
  mkdir -p "$home"
  chown "$user:" "$home"
  # "*" is no password and, unlike useradd's "!", not a locked account:
  # sshd refuses keys for a locked one.
  usermod -p '*' "$user"
  chown "$user:" "$work/home" "$work/tmp"
  as_user() { setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"; }
else
  as_user() { "$@"; } # already unprivileged
fi

passed=0
failed=0
for entry in $($GO list -f '{{.ImportPath}}={{.Dir}}' ./...); do
  pkg=${entry%%=*} dir=${entry#*=}
  grep -qs '^func TestPerm' "$dir"/*_test.go || continue
  bin="$work/bin/$(echo "$pkg" | tr / _).test"
  $GO test -c -o "$bin" "$pkg"
  echo "== $pkg (as $(as_user id -un))"
  log="$work/$(basename "$bin").log"
  if (cd "$dir" && as_user env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" \
    CI="${CI:-}" BACKUP_TEST_UNPRIV=1 "$bin" -test.run '^TestPerm' -test.count=1 -test.v -test.timeout=10m) >"$log" 2>&1; then
    grep -E '^ *--- |^ok|^PASS' "$log" || true
  else
    cat "$log"
    failed=1
  fi
  passed=$((passed + $(grep -c '^--- PASS: TestPerm' "$log" || true)))
done
if [ "$failed" != 0 ]; then
  echo "test-unpriv: FAIL" >&2
  exit 1
fi
if [ "$passed" = 0 ]; then
  echo "test-unpriv: no TestPerm... test passed (none ran?): the permission cases went unchecked" >&2
  exit 1
fi
echo "test-unpriv: $passed TestPerm... tests passed as $(as_user id -un)"
