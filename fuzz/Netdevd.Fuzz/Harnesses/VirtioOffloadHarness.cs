using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;
using Netdevd.Fuzz.Support;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// The tap's virtio-net offload code along the path a frame takes between two taps: a record is
/// a virtio-net header (10 bytes) and a frame as a tap with vnet_hdr reads it; software offload
/// resolves it (checksum completion, GSO segmentation) for a peer without headers, and each
/// resulting frame goes to the receiving tap's coalescer (software GRO) as in a batch. A run the
/// coalescer merges must itself resolve again: it is a GSO frame the kernel is given. A frame
/// marked DATA_VALID first gets its transport checksum filled, as the vhost-user front-end does
/// for a peer without headers, and that checksum must verify.
/// </summary>
public static class VirtioOffloadHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var sink = new CoalescingSink();
        var frame = new byte[NetClient.MaxFrameSize];
        var scratch = new byte[NetClient.MaxFrameSize];
        var reader = new FuzzReader(input);
        while (!reader.IsAtEnd)
        {
            var record = reader.Record();
            if (record.Length < VirtioNetHeader.BaseSize)
            {
                continue;
            }

            var header = VirtioNetHeader.Read(record);
            var body = record[VirtioNetHeader.BaseSize..];
            body.CopyTo(frame);
            var span = frame.AsSpan(0, body.Length);
            if (!header.IsGso && !header.NeedsChecksum && (header.Flags & VirtioNetHeader.FlagDataValid) != 0
                && ChecksumCompletion.FillTransport(span) && !TransportVerifies(span))
            {
                // The vhost-user front-end's path for a frame its back-end vouched for.
                throw new FuzzFindingException($"a filled transport checksum does not verify: {Convert.ToHexString(span)}");
            }

            _ = SoftwareOffload.Resolve(header, span, scratch, sink);
        }

        sink.Flush();
    }

    // The filled frame's TCP or UDP checksum, checked over the pseudo-header (a frame FillTransport
    // filled is untagged or carries one VLAN tag, and has no IPv6 extension headers).
    private static bool TransportVerifies(Span<byte> frame)
    {
        _ = EthernetFrame.CreateUnchecked(frame).TryGetCarried(out _, out var offset);
        var l3 = frame[offset..];

        if (Ipv4Packet.TryCreate(l3, out var ip4))
        {
            return ip4.Protocol == IpProtocol.Tcp
                ? TcpPacket.CreateUnchecked(ip4.Payload).VerifyChecksum(ip4.Source, ip4.Destination)
                : UdpPacket.CreateUnchecked(ip4.Payload).VerifyChecksum(ip4.Source, ip4.Destination);
        }

        var ip6 = Ipv6Packet.CreateUnchecked(l3);
        return ip6.NextHeader == IpProtocol.Tcp
            ? TcpPacket.CreateUnchecked(ip6.Payload).VerifyChecksum(ip6.Source, ip6.Destination)
            : UdpPacket.CreateUnchecked(ip6.Payload).VerifyChecksum(ip6.Source, ip6.Destination);
    }

    private sealed class CoalescingSink : ISegmentSink
    {
        private readonly TcpCoalescer _coalescer = new();
        private readonly byte[] _check = new byte[NetClient.VnetHeaderSize + NetClient.MaxFrameSize];
        private readonly byte[] _scratch = new byte[NetClient.MaxFrameSize];

        public void OnSegment(Span<byte> frame)
        {
            if (frame.Length > NetClient.MaxFrameSize)
            {
                throw new FuzzFindingException($"software offload produced a frame of {frame.Length} bytes");
            }

            var offer = _coalescer.Offer(frame);
            if (offer == Backends.VirtioNet.CoalesceResult.Taken)
            {
                return;
            }

            Flush();
            if (offer == Backends.VirtioNet.CoalesceResult.FlushFirst)
            {
                _ = _coalescer.Offer(frame);
            }
        }

        public void Flush()
        {
            if (!_coalescer.HasHeld)
            {
                return;
            }

            var merged = _coalescer.HeldSegments > 1;
            var held = _coalescer.Held();
            held.CopyTo(_check);
            _coalescer.Clear();
            if (!merged)
            {
                return;
            }

            var header = VirtioNetHeader.Read(_check);
            var outcome = SoftwareOffload.Resolve(header, _check.AsSpan(NetClient.VnetHeaderSize, held.Length - NetClient.VnetHeaderSize), _scratch, Discard.Instance);
            if (outcome != OffloadOutcome.Segmented)
            {
                throw new FuzzFindingException($"a coalesced run does not segment again ({outcome}): {Convert.ToHexString(held)}");
            }
        }
    }

    private sealed class Discard : ISegmentSink
    {
        public static readonly Discard Instance = new();

        public void OnSegment(Span<byte> frame)
        {
        }
    }
}
