#!/bin/bash
# fault_disk_full.sh — the disk fills up while a checkpoint or a pack is written: the program exits 1
# with an error naming the file and the cause, the previous good file stays as it was, no temporary
# file is left, and once there is room again --resume (or a rerun) ends as if nothing had happened.
# The disk is a small tmpfs mounted in a private mount namespace (`unshare -rm`: no root needed), so
# writes fail with ENOSPC; where user namespaces are not allowed, RLIMIT_FSIZE (ulimit -f, SIGXFSZ
# ignored) makes the same writes fail with EFBIG instead (FAULT_DISK=ulimit forces that way).
if [ -z "${CLT_FAULT_NS:-}" ] && [ "${FAULT_DISK:-}" != ulimit ] && unshare -rm true 2> /dev/null; then
    CLT_FAULT_NS=1 exec unshare -rm bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh"
DISK="$WORK/disk"
mkdir -p "$DISK"
trap 'umount "$DISK" 2> /dev/null; rm -rf "$WORK"' EXIT
if [ -n "${CLT_FAULT_NS:-}" ] && mount -t tmpfs -o size=16m tmpfs "$DISK" 2> /dev/null; then
    MODE=tmpfs
    CAUSE="No space left on device"
else
    MODE=ulimit
    CAUSE="File too large"
fi
echo "full disk simulated with: $MODE ($CAUSE)"

# Leaves `bytes` free on the tmpfs; in ulimit mode, remembers the limit for constrained().
leave_free() { # leave_free BYTES
    if [ $MODE = tmpfs ]; then
        rm -f "$DISK/filler"
        local avail=$(( $(stat -f -c '%a * %S' "$DISK") ))
        head -c $((avail - $1)) /dev/zero > "$DISK/filler"
    else
        LIMIT_KB=$(($1 / 1024))
    fi
}
room_again() { rm -f "$DISK/filler"; LIMIT_KB=unlimited; }
LIMIT_KB=unlimited
constrained() { # runs a command under the ulimit (tmpfs mode: as it is)
    (trap '' XFSZ; ulimit -f "$LIMIT_KB"; exec "$@")
}
no_temporaries() { ! ls "$1" | grep -q '\.tmp\.'; }
quiet() { "$@" > /dev/null 2>&1; }

# ---- a checkpoint: the run's final.ckpt cannot be written; snapshot_iter_5.ckpt must survive ----
tiny_pack "$WORK/p" 20
# wide fc layers: half a checkpoint must exceed any file PoCL writes, which ulimit -f limits too
settings=("[net]" "widths = 8,16,16,16,16,512,512" "[solver]" "max_iter = 10" "snapshot = 5" "test_interval = 10")
tiny_config "$WORK/ref.ini" "$WORK/p" "$WORK/ref" "${settings[@]}"
"$CLT" -c "$WORK/ref.ini" --quiet || fail "the reference run exits 0"
run="$DISK/run"
tiny_config "$WORK/run.ini" "$WORK/p" "$run" "${settings[@]}"
"$CLT" -c "$WORK/run.ini" --quiet || fail "the run on the small disk exits 0 while there is room"
check "the run on the small disk equals the reference run" cmp -s "$WORK/ref/final.ckpt" "$run/final.ckpt"
cp "$run/snapshot_iter_5.ckpt" "$WORK/snap5"
rm "$run/final.ckpt"
size=$(stat -c %s "$WORK/snap5")
leave_free $((size / 2))
constrained "$CLT" -c "$WORK/run.ini" --quiet --resume 2> "$WORK/err"
rc=$?
echo "  stderr: $(cat "$WORK/err")"
check "checkpoint on a full disk: exit 1 (got $rc)" test $rc -eq 1
check "checkpoint on a full disk: the error names final.ckpt and says '$CAUSE'" \
    grep -q "cannot write $run/final.ckpt.tmp.[0-9]*: $CAUSE ($run/final.ckpt is left as it was)" "$WORK/err"
check "checkpoint on a full disk: no final.ckpt appears" test ! -e "$run/final.ckpt"
check "checkpoint on a full disk: the previous snapshot is kept, byte for byte" cmp -s "$WORK/snap5" "$run/snapshot_iter_5.ckpt"
check "checkpoint on a full disk: the previous snapshot loads" quiet "$CLT" --inspect "$run/snapshot_iter_5.ckpt"
check "checkpoint on a full disk: no temporary file is left" no_temporaries "$run"
room_again
"$CLT" -c "$WORK/run.ini" --quiet --resume || fail "--resume once there is room exits 0"
check "--resume once there is room: final.ckpt identical to the reference run's" \
    cmp -s "$WORK/ref/final.ckpt" "$run/final.ckpt"
check "--resume once there is room: metrics.csv as the reference run's" \
    diff <(cut -d, -f1-6 "$WORK/ref/metrics.csv") <(cut -d, -f1-6 "$run/metrics.csv")

# ---- a pack: rewriting it fails for lack of room; the pack already there must survive ----
rm -rf "$run"
"$CLTDATA" fmnist -o "$DISK/f" --classes 0,1 --per-class 60 --seed 1 2> /dev/null || fail "fmnist exits 0 while there is room"
for f in f_train.pack f_train.mean f_test.pack; do cp "$DISK/$f" "$WORK/keep_$f"; done
size=$(stat -c %s "$DISK/f_train.pack")
leave_free $((size / 2))
constrained "$CLTDATA" fmnist -o "$DISK/f" --classes 0,1 --per-class 60 --seed 1 2> "$WORK/err"
rc=$?
echo "  stderr: $(cat "$WORK/err")"
check "pack on a full disk: exit 1 (got $rc)" test $rc -eq 1
check "pack on a full disk: the error names the pack and says '$CAUSE'" \
    grep -q "cannot write $DISK/f_train.pack.tmp.[0-9]*: $CAUSE ($DISK/f_train.pack is left as it was)" "$WORK/err"
for f in f_train.pack f_train.mean f_test.pack; do
    check "pack on a full disk: $f is kept, byte for byte" cmp -s "$WORK/keep_$f" "$DISK/$f"
done
check "pack on a full disk: the pack kept is whole (cltransfer-data info checks every image)" \
    quiet "$CLTDATA" info "$DISK/f_train.pack"
check "pack on a full disk: no temporary file is left" no_temporaries "$DISK"
room_again
"$CLTDATA" fmnist -o "$DISK/f" --classes 0,1 --per-class 60 --seed 1 2> /dev/null || fail "the rerun once there is room exits 0"
for f in f_train.pack f_train.mean f_test.pack; do
    check "rerun once there is room: $f as before" cmp -s "$WORK/keep_$f" "$DISK/$f"
done
finish
