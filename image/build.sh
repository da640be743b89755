#!/usr/bin/env bash
# Builds the router VM's root file system with vrouterd baked in (Debian bookworm, mmdebstrap):
#   image/out/vrouter-rootfs.tar   the root file system
#   image/out/vrouter.ext4         the same as an ext4 disk image (mkfs.ext4 -d), bootable with the
#   image/out/vmlinuz, initrd.img  Debian kernel it contains (see image/boot-test.sh)
# Run through `make image` (it builds dist/ and puts Node 24 on PATH). Needs root and a Debian mirror.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/image/out"
stage="$out/stage"
rm -rf "$stage" && mkdir -p "$stage/opt/vrouterd/node/bin" "$stage/usr/local/bin"

# The daemon: compiled code (no tests), its contract, production dependencies, Node 24.
app="$stage/opt/vrouterd"
cp -r "$root/dist" "$root/proto" "$root/package.json" "$root/package-lock.json" "$root/README.md" "$app/"
rm -rf "$app/dist/test" "$app/dist/.stamp"
(cd "$app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp "$(command -v node)" "$app/node/bin/node"
cat > "$stage/usr/local/bin/vrouterctl" <<'SH'
#!/bin/sh
exec /opt/vrouterd/node/bin/node /opt/vrouterd/dist/daemon/src/cli/vrouterctl.js "$@"
SH
chmod +x "$stage/usr/local/bin/vrouterctl"

mmdebstrap --variant=minbase \
  --include=systemd,systemd-sysv,udev,kmod,linux-image-amd64,nftables,libnftables1,iproute2,conntrack,iputils-ping,libsystemd0,ca-certificates \
  --customize-hook="sync-in '$stage' /" \
  --customize-hook="copy-in '$root/systemd/vrouterd.service' /etc/systemd/system/" \
  --customize-hook="copy-in '$root/image/files/vrouterd.default' /etc/default/" \
  --customize-hook="copy-in '$root/image/files/10-management.network' /etc/systemd/network/" \
  --customize-hook='mv "$1/etc/default/vrouterd.default" "$1/etc/default/vrouterd"' \
  --customize-hook='chroot "$1" systemctl enable vrouterd.service systemd-networkd.service' \
  --customize-hook='echo vrouter > "$1/etc/hostname"' \
  --customize-hook='chroot "$1" passwd -d root' \
  bookworm "$out/vrouter-rootfs.tar"

# A disk image and the kernel to boot it with, for qemu.
rm -rf "$out/rootfs" && mkdir -p "$out/rootfs"
tar -xf "$out/vrouter-rootfs.tar" -C "$out/rootfs"
cp -L "$out/rootfs/vmlinuz" "$out/vmlinuz"
cp -L "$out/rootfs/initrd.img" "$out/initrd.img"
rm -f "$out/vrouter.ext4"
mkfs.ext4 -q -L vrouter -d "$out/rootfs" "$out/vrouter.ext4" 2G
rm -rf "$out/rootfs" "$stage"
ls -lh "$out"
