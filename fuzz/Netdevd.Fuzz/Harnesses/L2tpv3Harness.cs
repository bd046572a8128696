using System.Buffers.Binary;
using Netdevd.Backends.Io;
using Netdevd.Backends.L2tpv3;
using Netdevd.Fuzz.Support;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// L2TPv3 datagrams into the l2tpv3 client's receive path, for the layout the first byte picks
/// (UDP, IPv4 raw with its IP header in front, IPv6 raw; no, 32- or 64-bit cookies; counter;
/// offset). Records are datagrams; a record whose length is odd gets the expected session id
/// and cookie written over its header fields, so the fuzzer gets past the checks it could not guess.
/// One client per layout, made once per process and driven from the harness thread.
/// </summary>
public static class L2tpv3Harness
{
    private const uint RxSession = 0xDEADBEEF;
    private const uint RxCookie = 0x89ABCDEF;
    private static readonly int[] s_offsets = [0, 2, 4, 256];
    private static readonly Dictionary<int, (DatagramPair Pair, L2tpv3NetClient Client, L2tpv3Layout Layout)> s_clients = [];

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var (pair, client, layout) = ClientFor(input[0]);
        var reader = new FuzzReader(input[1..]);
        var datagram = new byte[65536];
        while (!reader.IsAtEnd)
        {
            var record = reader.Record();
            record.CopyTo(datagram);
            if ((record.Length & 1) != 0)
            {
                Patch(datagram.AsSpan(0, record.Length), layout);
            }

            if (!pair.Write(datagram.AsSpan(0, record.Length)))
            {
                ((IPollTarget)client).OnReadable();
                _ = pair.Write(datagram.AsSpan(0, record.Length));
            }
        }

        ((IPollTarget)client).OnReadable();
    }

    private static void Patch(Span<byte> datagram, L2tpv3Layout layout)
    {
        var at = layout.HasIpHeader ? Math.Max(L2tpv3Layout.Ipv4HeaderLength(datagram), 0) : 0;
        var header = datagram[at..];
        if (header.Length >= layout.SessionOffset + 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header[layout.SessionOffset..], RxSession);
        }

        if (layout.CookieLength == 4 && header.Length >= layout.CookieOffset + 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header[layout.CookieOffset..], (uint)RxCookie);
        }
        else if (layout.CookieLength == 8 && header.Length >= layout.CookieOffset + 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(header[layout.CookieOffset..], RxCookie);
        }
    }

    private static (DatagramPair, L2tpv3NetClient, L2tpv3Layout) ClientFor(byte selector)
    {
        var mode = selector % 3;
        var cookie = (selector / 3) % 3;
        var counter = (selector / 9) % 2 == 1;
        var offset = s_offsets[(selector / 18) % s_offsets.Length];
        var key = (((mode * 3) + cookie) * 2 + (counter ? 1 : 0)) * s_offsets.Length + Array.IndexOf(s_offsets, offset);
        if (s_clients.TryGetValue(key, out var existing))
        {
            return existing;
        }

        var options = new NetdevL2TPv3Options
        {
            Src = "127.0.0.1",
            Dst = "127.0.0.1",
            Udp = mode == 0,
            Srcport = mode == 0 ? "1701" : null,
            Dstport = mode == 0 ? "1701" : null,
            Ipv6 = mode == 2,
            Txsession = 1,
            Rxsession = RxSession,
            Txcookie = cookie == 0 ? null : 1,
            Rxcookie = cookie == 0 ? null : RxCookie,
            Cookie64 = cookie == 2 ? true : null,
            Counter = counter,
            Offset = (uint)offset,
        };
        var config = L2tpv3Config.From(options);
        var pair = new DatagramPair();
        var client = new L2tpv3NetClient($"fuzz-l2tpv3-{key}", config, pair.BackendFd, SockAddr.Unix("/nonexistent"), null);
        var entry = (pair, client, config.Layout);
        s_clients[key] = entry;
        return entry;
    }
}
