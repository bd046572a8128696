#!/usr/bin/env bash
# Regenerates src/Netdevd/aot-order.txt: the order in which the NativeAOT build lays out the
# methods a guest's request/response traffic runs (ILC's --order with --method-layout:explicit,
# which publish.sh's build passes through IlcOrderFile).
#
# Why: between two pings 50 ms apart the caches and TLBs of this (virtual) machine forget the
# frame path, and each echo pays a miss for every distinct code page it touches. By default ILC
# spreads the path over ~20 pages of a 3.7 MB text section (tap, hub, client, stack, output queue,
# interop each in its own region); the JIT build, once warm, has its tier-1 code of the same path
# side by side and answered as fast as slirp4netns. Listing the hot methods first packs them.
#
# How: the JIT build runs a tap + hub + user netdev as the bench does, a namespace pings the gateway
# 300 times and makes 300 TCP round trips through the NAT, and the runtime's JIT summary
# (DOTNET_JitDisasmSummary) names every method that reached tier 1, in the order it got there;
# those names are mapped to the AOT symbols of a build without an order file (nm of netdevd.dbg).
# Then 300 new UDP flows: what reaches tier 1 only for them follows the span, outside it. Names the build no longer has are ignored by ILC, so a
# stale file only packs less; rerun this after larger changes to the frame path.
# Needs root (namespace, tap), ping, python3, binutils (nm), the .NET SDK.
# Usage: tools/aot-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/guest-tap.sh
[ "$(id -u)" = 0 ] || { echo "aot-order: needs root (namespace, tap)"; exit 1; }
for t in ip ping python3 nm; do command -v "$t" >/dev/null || { echo "aot-order: $t missing"; exit 1; }; done
work=$(mktemp -d)
ns=ndord-$$; tap=ndord$$; pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$tap" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
# The symbols of a build without an order file (the file changes only the layout, not the names).
dotnet publish src/Netdevd/Netdevd.csproj -c Release -r linux-x64 -nologo -v quiet -p:IlcOrderFile= -o "$work/aot" >/dev/null
nm "$work/aot/netdevd.dbg" > "$work/symbols"

ip netns add "$ns"; ip -n "$ns" link set lo up
DOTNET_JitStdOutFile="$work/jit" DOTNET_JitDisasmSummary=1 src/Netdevd/bin/Release/net10.0/netdevd \
  --netdev user,id=u0 --netdev hubport,id=h0,hubid=0,netdev=u0 \
  --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 >"$work/log" 2>&1 &
pid=$!
guest_tap_up "$tap" "$ns"
ip netns exec "$ns" ping -n -q -c 300 -i 0.005 -W 1 10.0.2.2 >/dev/null
# Request/response over TCP too (an ssh keystroke, an RPC): 300 round trips to an echo server on
# the host's loopback, reached through the virtual host address.
port=$((20000 + $$ % 20000))
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
c, _ = s.accept()
while (d := c.recv(4096)):
    c.sendall(d)
' "$port" &
server=$!
sleep 0.3
ip netns exec "$ns" python3 -c '
import socket, sys, time
c = socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=5)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(300):
    c.sendall(b"x" * 64); c.recv(4096); time.sleep(0.005)
' "$port" || echo "aot-order: the TCP round trips failed; the order covers ping only"
wait "$server" || true
sleep 1 # tier-1 compilations still in the background

# New flows: 300 datagrams, each from a socket of its own (a flow each, as a resolver's queries
# are), to a UDP echo server on the host's loopback. What reaches tier 1 only here is laid out
# right after the span, packed, so that a new flow's first datagram finds its code on a few
# pages; not inside it, which every wake-up reads whatever the frame.
setup_from=$(wc -l < "$work/jit")
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1]))); s.settimeout(20)
while True:
    d, peer = s.recvfrom(4096)
    s.sendto(d, peer)
' "$port" &
server=$!
sleep 0.3
ip netns exec "$ns" python3 -c '
import socket, sys, time
for _ in range(300):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(1)
    c.sendto(b"x" * 64, ("10.0.2.2", int(sys.argv[1])))
    try:
        c.recv(4096)
    except socket.timeout:
        pass
    c.close(); time.sleep(0.005)
' "$port" || echo "aot-order: the UDP flows failed; the order has no flow setup section"
kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
sleep 1

# The frame loop's own methods first (IoThread.Run is compiled optimized at once, it loops), then
# every method in the order it reached tier 1.
python3 - "$work/jit" "$work/symbols" "$setup_from" > src/Netdevd/aot-order.txt <<'EOF'
import collections, re, sys

def strip_generics(s):
    out, depth = [], 0
    for ch in s:
        if ch in '<[':
            depth += 1
        elif ch in '>]':
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return ''.join(out)

def split_symbol(s):
    # AOT names: ASSEMBLY_NAMESPACE_TYPE__METHOD[_N]; the last '__' outside generic arguments.
    depth, cut = 0, -1
    for i, ch in enumerate(s):
        if ch == '<':
            depth += 1
        elif ch == '>':
            depth -= 1
        elif depth == 0 and i > 0 and s.startswith('__', i):
            cut = i
    if cut < 0:
        return None
    return strip_generics(s[:cut]), re.sub(r'_\d+$', '', strip_generics(s[cut + 2:]))

# The JIT's names for the types its summary prints as arguments, in the AOT build's spelling.
ALIASES = {'ubyte': 'UInt8', 'byte': 'Int8', 'ushort': 'UInt16', 'short': 'Int16', 'uint': 'UInt32',
           'int': 'Int32', 'ulong': 'UInt64', 'long': 'Int64', 'bool': 'Bool',
           'char': 'Char', 'double': 'Double', 'float': 'Single', 'nint': 'IntPtr', 'nuint': 'UIntPtr'}

def type_arguments(jit_type):
    # A generic type's arguments as the JIT names them ('Dictionary`2[Netdevd.X,System.__Canon]'),
    # each in the AOT spelling of its outer name; [] for a type that is not generic.
    start = jit_type.find('[')
    if start < 0:
        return []
    arguments, depth, current = [], 0, ''
    for ch in jit_type[start + 1:]:
        if ch in '[<':
            depth += 1
        elif ch in ']>':
            if depth == 0:
                break
            depth -= 1
        elif ch == ',' and depth == 0:
            arguments.append(current)
            current = ''
            continue
        if depth == 0:
            current += ch
    arguments.append(current)
    return [ALIASES.get(a, a).replace('.', '_').replace('+', '_').replace('`', '_') for a in arguments]

def same_instance(arguments, symbol):
    # A method of a generic type is one body per instantiation in the AOT build: only those whose
    # arguments the JIT compiled (Dictionary<TcpFlowAddress, __Canon>.FindValue, not every
    # dictionary's), else the span fills with code the path never runs.
    if not arguments:
        return True
    open_at = symbol.find('<')
    if open_at < 0:
        return False
    instance = symbol[open_at:]
    return all(a in instance for a in arguments)

by_method = collections.defaultdict(list)
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) == 3 and parts[1] == 't' and not parts[2].startswith(('_lsda', '__')):
        split = split_symbol(parts[2])
        if split:
            by_method[split[1]].append((split[0], parts[2]))

loop = re.compile(r'Io_IoThread__(Run|RunPosted|Rearm|FollowLoop)$|Io_PollLoop__(Dispatch|DispatchCore|TryGetPollFd|TouchHot)$'
                  r'|Clients_HotObjects__Touch$|Native_FramePathCode__Touch$'
                  r'|Native_Libc__(Read|read|Write|write|ReadV|readv)$'
                  r'|Native_Libc__(EpollWaitOrErrno|ReadOrErrno|WriteOrErrno|WriteVOrErrno|epoll_wait_plain|read_plain|write_plain|writev_plain)$'
                  r'|Native_Libc___(epoll_wait|read|write|readv|writev)_g____PInvoke_\d+_0$'
                  # What the AOT build's own profile of the ping finds hot but the JIT summary never
                  # names (inlined under the JIT, or CoreLib code that stays precompiled there).
                  r'|Hubs_HubPort__(Deliver|OnBatchEnd)$|Hubs_Hub__(Forward|TellOtherPeers)$|Wire_Ipv6Packet__TryCreate$'
                  r'|User_PollLoopHostIo__FollowCaller$|Interface_Ipv4Fragmenter__Needs$|Host_GuestOutputQueue__(Commit|get_IsEmpty)$'
                  r'|TypeCast__StelemRef$|InteropHelpers__ResolvePInvoke$|MethodTable__get_ComponentSize$'
                  r'|ConcurrentQueueSegment_1<S_P_CoreLib_System_ValueTuple_2<System___Canon__System___Canon>>__TryPeek$'
                  r'|^Netdevd_\w+__PrivateImplementationDetails___InlineArray'
                  r'|Host_FrameBufferPool__Return$|Host_UserNetClient__(Netdevd_UserNet_Host_IGuestPort_Deliver|WriteVnetHeader)$')
# What runs when the thread goes idle (recording the paths for the next wake-up), not on the way
# of a frame: kept out of the span the wake-up reads.
idle = re.compile(r'_(CollectHot|CollectHotWithPeer|RecordHot|RecordReportedPaths)$|Clients_HotObjects__(Add|AddOnce|Contains|Clear)(_\d+)?$')
ordered = [s for entries in by_method.values() for (_, s) in entries if loop.search(s)]
setup = []
for number, line in enumerate(open(sys.argv[1])):
    if 'Tier1' not in line:
        continue
    m = re.search(r'JIT compiled (\S+):([^(]+)\(', line)
    if not m:
        continue
    type_name = strip_generics(m.group(1)).replace('.', '_').replace('+', '_').replace('`', '_')
    method = strip_generics(m.group(2)).replace('.', '_')
    arguments = type_arguments(m.group(1))
    if not type_name:
        # '<PrivateImplementationDetails>' and the like: no name to tell one assembly's from another's.
        continue
    (setup if number >= int(sys.argv[3]) else ordered).extend(
        s for (t, s) in by_method.get(method, [])
        if (t == type_name or t.endswith('_' + type_name)) and same_instance(arguments, s) and not idle.search(s))
# Between FramePathCode's two markers, which a thread waking from a sleep reads page by page; the
# new flows' own methods after them.
ordered = ['Netdevd_Native_Netdevd_Native_FramePathCode__Start'] + ordered + ['Netdevd_Native_Netdevd_Native_FramePathCode__End'] + setup
seen = set()
print('\n'.join(s for s in ordered if not (s in seen or seen.add(s))))
EOF
echo "aot-order: src/Netdevd/aot-order.txt, $(wc -l < src/Netdevd/aot-order.txt) methods ($(sed -n '/FramePathCode__End$/,$p' src/Netdevd/aot-order.txt | tail -n +2 | wc -l) after the span: new flows)"
