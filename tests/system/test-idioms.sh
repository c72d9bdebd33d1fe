#!/usr/bin/env bash
# OVS flow idioms on real namespaces: a VLAN trunk with access ports, the
# ARP responder, and a router that rewrites MACs between two subnets.
. "$(dirname "$0")/lib.sh"

start_vswitchd || exit 1
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ {print $2}'; }
flows() { # BR FLOWS...
    local br=$1; shift
    printf '%s\n' "$@" | "$VSCTL_BIN" --server="unix:$RUN/ctl" add-flows "$br" -
}

# --- VLAN trunk between two switches, access ports on each ----------------
# (This kernel has no 8021q module, so the far end of the trunk is a second
# Trackswitch bridge, not a VLAN interface.)
H1=${P}v1 H2=${P}v2 H3=${P}v3 H4=${P}v4 b1=${P}vb b2=${P}vc
for h in "$H1" "$H2" "$H3" "$H4"; do add_ns "$h"; done
veth_to_ns "$H1" "${P}v10" 10.254.0.1/24     # VLAN 10 on switch 1
veth_to_ns "$H3" "${P}v30" 10.254.0.3/24     # VLAN 20 on switch 1
veth_to_ns "$H2" "${P}v20" 10.254.0.2/24     # VLAN 10 on switch 2
veth_to_ns "$H4" "${P}v40" 10.254.0.4/24     # VLAN 20 on switch 2
ip link add "${P}tk1" type veth peer name "${P}tk2" && LINK_LIST+=("${P}tk1")
ip link set "${P}tk1" up; ip link set "${P}tk2" up
access_trunk_flows() { # BR ACCESS10 ACCESS20 TRUNK
    flows "$1" "priority=100,in_port=$2,actions=mod_vlan_vid:10,output:$4" \
        "priority=100,in_port=$3,actions=mod_vlan_vid:20,output:$4" \
        "priority=100,in_port=$4,dl_vlan=10,actions=strip_vlan,output:$2" \
        "priority=100,in_port=$4,dl_vlan=20,actions=strip_vlan,output:$3"
}
for b in "$b1" "$b2"; do check "vlan: add-br $b" vsctl add-br "$b"; done
vsctl add-port "$b1" "${P}v10" type=afpacket ofport=1 &&
vsctl add-port "$b1" "${P}v30" type=afpacket ofport=2 &&
vsctl add-port "$b1" "${P}tk1" type=afpacket ofport=3 &&
vsctl add-port "$b2" "${P}v20" type=afpacket ofport=1 &&
vsctl add-port "$b2" "${P}v40" type=afpacket ofport=2 &&
vsctl add-port "$b2" "${P}tk2" type=afpacket ofport=3
for b in "$b1" "$b2"; do
    check "vlan: $b: replace the default flow" vsctl del-flows "$b"
    check "vlan: $b: access and trunk flows" access_trunk_flows "$b" 1 2 3
done
timeout 15 tcpdump -c 1 -eni "${P}tk1" 'vlan 10 and icmp' >"$RUN/trunk.txt" 2>/dev/null &
tdpid=$!
sleep 0.5
check "vlan: VLAN 10 hosts reach each other over the trunk" ping_ok "$H1" 10.254.0.2
check "vlan: VLAN 20 hosts reach each other over the trunk" ping_ok "$H3" 10.254.0.4
check "vlan: tcp over the trunk" tcp_ok "$H1" "$H2" 10.254.0.2
check_not "vlan: VLAN 10 cannot reach VLAN 20 across the trunk" \
    nsx "$H1" ping -c 2 -i 0.2 -W 1 10.254.0.4
check_not "vlan: the access ports of one switch are isolated" \
    nsx "$H1" ping -c 2 -i 0.2 -W 1 10.254.0.3
wait $tdpid 2>/dev/null
check "vlan: frames on the trunk carry tag 10" grep -q "vlan 10" "$RUN/trunk.txt"

# --- ARP responder ---------------------------------------------------------
A=${P}r1 B=${P}r2 br=${P}rb
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}r10" 10.254.1.1/24
veth_to_ns "$B" "${P}r20" 10.254.1.2/24
check "arp: add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}r10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}r20" type=afpacket ofport=2
check "arp: responder flow" vsctl add-flow "$br" \
"priority=100,arp,arp_tpa=10.254.1.100,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:00:00:5e:00:01:64,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x00005e000164->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0x0afe0164->NXM_OF_ARP_SPA[],in_port"
nsx "$A" ping -c 1 -W 1 10.254.1.100 >/dev/null 2>&1
check "arp: the switch answered for 10.254.1.100" sh -c \
    "ip -n $A neigh show 10.254.1.100 | grep -q '00:00:5e:00:01:64'"
check "arp: ordinary traffic still switched" ping_ok "$A" 10.254.1.2

# --- MAC-rewriting router between two subnets ------------------------------
A=${P}m1 B=${P}m2 br=${P}mb RMAC=00:00:5e:00:02:fe
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}m10" 10.254.2.1/24
veth_to_ns "$B" "${P}m20" 10.254.3.1/24
ip -n "$A" route add default via 10.254.2.254
ip -n "$B" route add default via 10.254.3.254
MA=$(mac_of "$A") MB=$(mac_of "$B")
responder() { # GW_IP_HEX
    echo "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:$RMAC,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x00005e0002fe->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:$1->NXM_OF_ARP_SPA[],in_port"
}
check "router: add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}m10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}m20" type=afpacket ofport=2
check "router: del default flow" vsctl del-flows "$br"
check "router: flows" flows "$br" \
    "priority=100,arp,arp_tpa=10.254.2.254,arp_op=1,actions=$(responder 0x0afe02fe)" \
    "priority=100,arp,arp_tpa=10.254.3.254,arp_op=1,actions=$(responder 0x0afe03fe)" \
    "priority=90,ip,nw_dst=10.254.3.0/24,actions=mod_dl_src:$RMAC,mod_dl_dst:$MB,dec_ttl,output:2" \
    "priority=90,ip,nw_dst=10.254.2.0/24,actions=mod_dl_src:$RMAC,mod_dl_dst:$MA,dec_ttl,output:1"
check "router: ping across subnets" ping_ok "$A" 10.254.3.1
check "router: TTL decremented on the way" sh -c \
    "ip netns exec $A ping -c 1 -W 2 10.254.3.1 | grep -q 'ttl=63'"
check "router: tcp across subnets" tcp_ok "$A" "$B" 10.254.3.1
