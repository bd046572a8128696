using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Netdevd.Core.Nic;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>
/// A tiny IPv4 host on a NIC, for tests that ping across a netdevd link without a tap: it
/// answers ARP requests and ICMP echo requests for its address, and can itself ping (ARP for
/// the target, then echo request, then wait for the reply).
/// </summary>
internal sealed class Ipv4PingPeer
{
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private readonly byte[] _mac;
    private readonly byte[] _ip;
    private readonly ConcurrentDictionary<uint, byte[]> _arp = new();
    private readonly BlockingCollection<ushort> _replies = [];
    private readonly ConcurrentQueue<byte[]> _outgoing = new();
    private int _answered;

    public Ipv4PingPeer(string name, IPAddress address, byte[] mac)
    {
        _ip = address.GetAddressBytes();
        _mac = mac;
        Client = new NicClient(name, OnFrame);
    }

    public NicClient Client { get; }

    /// <summary>Echo requests answered so far.</summary>
    public int Answered => Volatile.Read(ref _answered);

    /// <summary>Pings <paramref name="target"/> (ARP first if needed); true when a reply came back in time.</summary>
    public bool Ping(IPAddress target, ushort sequence, TimeSpan timeout)
    {
        var t = target.GetAddressBytes();
        var key = BinaryPrimitives.ReadUInt32BigEndian(t);
        var deadline = DateTime.UtcNow + timeout;
        while (!_arp.ContainsKey(key))
        {
            Client.Transmit(Arp(1, Broadcast, t));
            Thread.Sleep(200);
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
        }

        Client.Transmit(Echo(_arp[key], t, 8, 0x4e44, sequence, new byte[32]));
        while (_replies.TryTake(out var seq, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
        {
            if (seq == sequence)
            {
                return true;
            }
        }

        return false;
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        // Runs under the NIC's lock: replies go out from a thread of their own (NetClient's rule).
        if (frame.Length < 42)
        {
            return;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type == 0x0806)
        {
            var op = BinaryPrimitives.ReadUInt16BigEndian(frame[20..]);
            var senderMac = frame.Slice(22, 6).ToArray();
            var senderIp = frame.Slice(28, 4);
            _arp[BinaryPrimitives.ReadUInt32BigEndian(senderIp)] = senderMac;
            if (op == 1 && frame.Slice(38, 4).SequenceEqual(_ip))
            {
                Reply(Arp(2, senderMac, senderIp.ToArray()));
            }

            return;
        }

        if (type != 0x0800 || frame[23] != 1 || !frame.Slice(30, 4).SequenceEqual(_ip))
        {
            return;
        }

        var ihl = (frame[14] & 0x0f) * 4;
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
        var icmp = frame.Slice(14 + ihl, totalLength - ihl);
        var source = frame.Slice(26, 4).ToArray();
        var sourceMac = frame.Slice(6, 6).ToArray();
        _arp[BinaryPrimitives.ReadUInt32BigEndian(source)] = sourceMac;
        if (icmp[0] == 8)
        {
            Interlocked.Increment(ref _answered);
            Reply(Echo(sourceMac, source, 0, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]), BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]), icmp[8..].ToArray()));
        }
        else if (icmp[0] == 0)
        {
            _replies.Add(BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        }
    }

    private void Reply(byte[] frame)
    {
        _outgoing.Enqueue(frame);
        ThreadPool.UnsafeQueueUserWorkItem(
            _ =>
            {
                while (_outgoing.TryDequeue(out var f))
                {
                    Client.Transmit(f);
                }
            },
            null);
    }

    private byte[] Arp(ushort op, byte[] targetMac, byte[] targetIp)
    {
        var f = new byte[60];
        targetMac.CopyTo(f, 0);
        _mac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800);
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), op);
        _mac.CopyTo(f, 22);
        _ip.CopyTo(f, 28);
        (op == 1 ? new byte[6] : targetMac).CopyTo(f, 32);
        targetIp.CopyTo(f, 38);
        return f;
    }

    private byte[] Echo(byte[] dstMac, byte[] dstIp, byte type, ushort id, ushort seq, byte[] payload)
    {
        var f = new byte[14 + 20 + 8 + payload.Length];
        dstMac.CopyTo(f, 0);
        _mac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        var ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 1;
        _ip.CopyTo(ip[12..]);
        dstIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));
        var icmp = f.AsSpan(34);
        icmp[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], seq);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return f;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if ((data.Length & 1) != 0)
        {
            sum += (uint)data[^1] << 8;
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
