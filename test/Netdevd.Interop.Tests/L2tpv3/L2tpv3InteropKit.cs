using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>One L2TPv3 configuration as both QEMU's option string and netdevd's options.</summary>
/// <param name="Udp">UDP encapsulation (else IP, protocol 115).</param>
/// <param name="Ipv6">IPv6 transport.</param>
/// <param name="CookieBits">0 (none), 32 or 64.</param>
/// <param name="Counter">counter=on.</param>
/// <param name="PinCounter">pincounter=on.</param>
/// <param name="Offset">offset=N (0: absent).</param>
public sealed record L2tpv3Variant(bool Udp, bool Ipv6, int CookieBits, bool Counter, bool PinCounter, int Offset)
{
    public override string ToString() =>
        $"{(Udp ? "udp" : "ip")}{(Ipv6 ? "6" : "4")} cookie{CookieBits} counter={Counter} pin={PinCounter} offset={Offset}";
}

/// <summary>Builders shared by the l2tpv3 interop tests.</summary>
internal static class L2tpv3InteropKit
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string S(long n) => n.ToString(CultureInfo.InvariantCulture);

    public static NetdevRegistry NewRegistry() =>
        new([new L2tpv3NetdevFactory(), new HubportNetdevFactory()], new Silent(), NullLoggerFactory.Instance);

    /// <summary>A loopback address of its own, so raw sockets of parallel tests do not share traffic.</summary>
    public static string PrivateLoopback() => $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(2, 254)}";

    /// <summary>QEMU's -netdev l2tpv3 option string for one end.</summary>
    public static string QemuSpec(string id, L2tpv3Variant v, string src, int srcport, string dst, int dstport, uint tx, uint rx, ulong txCookie, ulong rxCookie)
    {
        var s = $"l2tpv3,id={id},src={src},dst={dst},txsession={S(tx)},rxsession={S(rx)}";
        if (v.Udp)
        {
            s += $",udp=on,srcport={S(srcport)},dstport={S(dstport)}";
        }

        if (v.Ipv6)
        {
            s += ",ipv6=on";
        }

        if (v.CookieBits != 0)
        {
            s += $",txcookie=0x{txCookie:x},rxcookie=0x{rxCookie:x}";
        }

        if (v.CookieBits == 64)
        {
            s += ",cookie64=on";
        }

        if (v.Counter)
        {
            s += ",counter=on";
        }

        if (v.PinCounter)
        {
            s += ",pincounter=on";
        }

        if (v.Offset != 0)
        {
            s += $",offset={S(v.Offset)}";
        }

        return s;
    }

    /// <summary>netdevd's options for one end, the same as <see cref="QemuSpec"/>.</summary>
    public static Netdev NetdevdSpec(string id, L2tpv3Variant v, string src, int srcport, string dst, int dstport, uint tx, uint rx, ulong txCookie, ulong rxCookie)
    {
        var o = new NetdevL2TPv3Options { Src = src, Dst = dst, Txsession = tx, Rxsession = rx };
        if (v.Udp)
        {
            (o.Udp, o.Srcport, o.Dstport) = (true, S(srcport), S(dstport));
        }

        if (v.Ipv6)
        {
            o.Ipv6 = true;
        }

        if (v.CookieBits != 0)
        {
            (o.Txcookie, o.Rxcookie) = (txCookie, rxCookie);
        }

        if (v.CookieBits == 64)
        {
            o.Cookie64 = true;
        }

        if (v.Counter)
        {
            o.Counter = true;
        }

        if (v.PinCounter)
        {
            o.Pincounter = true;
        }

        if (v.Offset != 0)
        {
            o.Offset = (uint)v.Offset;
        }

        return new Netdev { Id = id, Type = NetClientDriver.L2tpv3, L2tpv3 = o };
    }

    public static int FreeUdpPort(bool ipv6)
    {
        if (!ipv6)
        {
            return HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        }

        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private sealed class Silent : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}

/// <summary>A NIC that keeps what it receives.</summary>
internal sealed class L2tpv3Nic
{
    private readonly BlockingCollection<byte[]> _frames = [];

    public L2tpv3Nic(string name) => Client = new NicClient(name, f => _frames.Add(f.ToArray()));

    public NicClient Client { get; }

    public byte[] Next() => _frames.TryTake(out var f, 5000) ? f : throw new TimeoutException("no frame reached netdevd's NIC");
}
