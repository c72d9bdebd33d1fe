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

# --- VLAN trunk and access ports -------------------------------------------
H1=${P}v1 H3=${P}v3 T=${P}vt br=${P}vb
add_ns "$H1"; add_ns "$H3"; add_ns "$T"
veth_to_ns "$H1" "${P}v10" 10.254.0.1/24
veth_to_ns "$T" "${P}vt0" 0.0.0.0/32
veth_to_ns "$H3" "${P}v30" 10.254.0.3/24
ip -n "$T" addr flush dev eth0
ip -n "$T" link add link eth0 name eth0.10 type vlan id 10
ip -n "$T" addr add 10.254.0.2/24 dev eth0.10
ip -n "$T" link set eth0.10 up
check "vlan: add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}v10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}vt0" type=afpacket ofport=2 &&
vsctl add-port "$br" "${P}v30" type=afpacket ofport=3
check "vlan: del default flow" vsctl del-flows "$br"
check "vlan: access/trunk flows" flows "$br" \
    "priority=100,in_port=1,actions=mod_vlan_vid:10,output:2" \
    "priority=100,in_port=3,actions=mod_vlan_vid:20,output:2" \
    "priority=100,in_port=2,dl_vlan=10,actions=strip_vlan,output:1" \
    "priority=100,in_port=2,dl_vlan=20,actions=strip_vlan,output:3"
check "vlan: access port 10 reaches the trunk's VLAN 10" ping_ok "$H1" 10.254.0.2
check "vlan: tcp over the trunk" tcp_ok "$H1" "$T" 10.254.0.2
check_not "vlan: access port 20 cannot reach VLAN 10" \
    nsx "$H3" ping -c 2 -i 0.2 -W 1 10.254.0.2
check_not "vlan: the two access ports are isolated" \
    nsx "$H1" ping -c 2 -i 0.2 -W 1 10.254.0.3
check "vlan: trunk frames carry tag 10" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep 'dl_vlan=10' | grep -q 'n_packets=[1-9]'"

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
