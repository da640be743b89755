#!/usr/bin/env bash
# Boots image/out/vrouter.ext4 under qemu (software emulation: no KVM here) with real systemd and
# checks, from the serial console, that vrouterd.service reached READY (Type=notify) with its
# capability bounding, applied a config through vrouterctl on the console socket, and stopped cleanly.
# A copy of the disk gets a one-shot check unit; the built image is not changed.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/out"
files="$(cd "$(dirname "$0")" && pwd)/files"
[ -f "$out/vrouter.ext4" ] || { echo "build the image first: make image"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp --sparse=always "$out/vrouter.ext4" "$work/disk.ext4"

cat > "$work/boot-check.service" <<'UNIT'
[Unit]
Description=vrouterd boot check
After=vrouterd.service
Wants=vrouterd.service
[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/sh -c 'echo "CHECK state=$(systemctl show -P ActiveState vrouterd) type=$(systemctl show -P Type vrouterd) watchdog=$(systemctl show -P WatchdogUSec vrouterd)"'
ExecStart=/bin/sh -c 'echo "CHECK caps=$(grep CapBnd /proc/$(systemctl show -P MainPID vrouterd)/status)"'
ExecStart=/usr/local/bin/vrouterctl apply -f /etc/vrouterd/boot-check.yaml
ExecStart=/bin/sh -c 'echo "CHECK addr=$(ip -br addr show | tr -s " " | tr "\n" ";")"'
ExecStart=/bin/sh -c 'echo "CHECK tables=$(nft list tables | tr "\n" ";")"'
ExecStart=/bin/sh -c 'systemctl stop vrouterd; echo "CHECK stopped=$(systemctl show -P ActiveState vrouterd) result=$(systemctl show -P Result vrouterd)"'
ExecStart=/bin/systemctl poweroff
UNIT
debugfs -w -R "mkdir /etc/vrouterd" "$work/disk.ext4" >/dev/null 2>&1 || true
debugfs -w -R "write $files/boot-check.yaml /etc/vrouterd/boot-check.yaml" "$work/disk.ext4" >/dev/null
debugfs -w -R "write $work/boot-check.service /etc/systemd/system/boot-check.service" "$work/disk.ext4" >/dev/null
debugfs -w -R "symlink /etc/systemd/system/multi-user.target.wants/boot-check.service /etc/systemd/system/boot-check.service" "$work/disk.ext4" >/dev/null

timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
  -kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 net.ifnames=1 systemd.show_status=1" \
  -drive file="$work/disk.ext4",format=raw,if=virtio \
  -nic user,model=virtio-net-pci,mac=52:54:00:00:00:01 \
  -nic user,model=virtio-net-pci,mac=52:54:00:00:00:02,restrict=on \
  | tee "$work/console.log" | grep --line-buffered -E 'CHECK|vrouterd|generation' || true

grep -q 'CHECK state=active type=notify watchdog=30s' "$work/console.log"
grep -q 'CHECK caps=CapBnd:.*0000000000003400' "$work/console.log"
grep -q 'CHECK addr=.*10.9.0.1/24' "$work/console.log"
grep -q 'CHECK tables=table inet vrouter;table ip vrouter_nat;' "$work/console.log"
grep -q 'CHECK stopped=inactive result=success' "$work/console.log"
echo "boot test passed"
