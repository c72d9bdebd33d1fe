#!/bin/busybox sh
# /init of the ts-vm guest (busybox-static, Debian kernel).  See docs/vm.md.
#
# Reads its settings from the kernel command line:
#   tsvm.name=NAME  tsvm.ip=A/LEN  tsvm.gw=G  tsvm.probe=1
# loads the virtio-net modules listed in /etc/tsvm/modules (dependency order,
# written by ts-vm build-initramfs), configures eth0, prints the ready marker
# on the serial console and runs the command agent on it.  If the agent
# ends, the guest powers off.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /tmp /run /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
dmesg -n 1

name=guest ip= gw= probe=
for w in $(cat /proc/cmdline); do
    case $w in
        tsvm.name=*) name=${w#tsvm.name=} ;;
        tsvm.ip=*) ip=${w#tsvm.ip=} ;;
        tsvm.gw=*) gw=${w#tsvm.gw=} ;;
        tsvm.probe=*) probe=${w#tsvm.probe=} ;;
    esac
done
hostname "$name"

fatal() {
    echo "@@TSVM-FAIL $*" >/dev/ttyS0
    poweroff -f
}

if [ -n "$probe" ]; then
    echo "@@TSVM-READY probe" >/dev/ttyS0
    poweroff -f
fi

while read -r m; do
    [ -n "$m" ] || continue
    insmod "/lib/modules/$m" || fatal "insmod $m"
done </etc/tsvm/modules

ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ]; do
    n=$((n + 1))
    [ $n -gt 100 ] && fatal "no eth0"
    sleep 0.1
done
ip link set eth0 up || fatal "eth0 up"
n=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $n -lt 50 ]; do
    n=$((n + 1))
    sleep 0.1
done
if [ -n "$ip" ]; then
    ip addr add "$ip" dev eth0 || fatal "address $ip"
fi
if [ -n "$gw" ]; then
    ip route add default via "$gw" || fatal "route via $gw"
fi

stty -F /dev/ttyS0 raw -echo -echoe -echok -echoctl -echoke 2>/dev/null ||
    stty -F /dev/ttyS0 raw -echo
echo "@@TSVM-READY $name" >/dev/ttyS0
/bin/sh /etc/tsvm/agent.sh </dev/ttyS0 >/dev/ttyS0 2>&1
poweroff -f
