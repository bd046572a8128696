using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Io;
using Netdevd.Backends.VhostUser;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// A vhost-user front-end written from the spec for the tests: it plays QEMU's part (memory
/// table from a memfd, rings, kick and call eventfds) against a <see cref="VhostUserBackendClient"/>
/// listening on a socket of its own, whose peer is a <see cref="FrameRecorder"/>.
/// </summary>
internal sealed class ScriptedFrontEnd : IDisposable
{
    public const ushort RingSize = 64;

    private readonly byte[] _buffer = new byte[VhostUserChannel.BufferSize];

    private ScriptedFrontEnd(VhostUserChannel channel)
    {
        Channel = channel;
    }

    public VhostUserChannel Channel { get; }

    public TestGuestMemory Memory { get; } = new();

    public TestDriverRing Rx => field ??= new TestDriverRing(Memory, RingSize, TestGuestMemory.GuestBase);

    public TestDriverRing Tx => field ??= new TestDriverRing(Memory, RingSize, TestGuestMemory.GuestBase + 0x10000);

    /// <summary>
    /// Posts <paramref name="count"/> receive buffers of <paramref name="size"/> bytes from
    /// descriptor <paramref name="first"/> on, descriptor i at <see cref="TestDriverRing.BuffersAt"/>
    /// + i * 0x1000, each a one-buffer chain.
    /// </summary>
    public void OfferReceiveBuffers(int count, uint size, ushort first = 0)
    {
        for (var i = first; i < first + count; i++)
        {
            Rx.SetDescriptor(i, TestDriverRing.BuffersAt + (ulong)(i * 0x1000), size, SplitRingLayout.DescriptorWrite, 0);
            Rx.Offer(i);
        }
    }

    /// <summary>The packed rings <see cref="SetUp"/> laid out when RING_PACKED was negotiated.</summary>
    public TestPackedDriverRing? PackedRx { get; private set; }

    public TestPackedDriverRing? PackedTx { get; private set; }

    public SafeFileHandle[] Kicks { get; } = [EventFd(), EventFd()];

    public SafeFileHandle[] Calls { get; } = [EventFd(), EventFd()];

    /// <summary>A back-end listening on a fresh socket, with a recorder as its peer.</summary>
    /// <param name="vnetHeader">Whether the peer takes and gives frames behind a virtio-net header (as a vnet_hdr tap).</param>
    public static (VhostUserBackendClient Backend, FrameRecorder Peer, string Path) StartBackend(int queues = 1, bool vnetHeader = false)
    {
        var path = Path.Combine(TestDirectories.Create("vhost-user-"), "sock");
        var address = new QapiSocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = path } };
        var backend = new VhostUserBackendClient("v", VhostUserEndpoint.Listen(address), queues, new IoThreadPool(0), NullLogger.Instance);
        var peer = new FrameRecorder(vnetHeader);
        NetClient.Connect(backend, peer);
        backend.Start();
        return (backend, peer, path);
    }

    public static ScriptedFrontEnd Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.ReceiveTimeout = 30_000;
        return new ScriptedFrontEnd(new VhostUserChannel(socket));
    }

    /// <summary>Sends a request; returns the reply's payload when one is expected (or a REPLY_ACK's u64).</summary>
    public byte[]? Request(VhostUserRequest request, ReadOnlySpan<byte> payload, bool expectReply = false, bool needReply = false, params SafeHandle[] fds)
    {
        Assert.True(Channel.Send(request, needReply ? VhostUserHeader.NeedReplyFlag : 0, payload, fds), $"{request} not sent: errno {Channel.LastErrno}");
        if (!expectReply && !needReply)
        {
            return null;
        }

        var received = new List<SafeFileHandle>();
        var status = Channel.Receive(_buffer, received, out var length);
        if (status != VhostUserReceiveStatus.Message)
        {
            return null;
        }

        Assert.Equal(VhostUserParseStatus.Complete, VhostUserMessage.TryParse(_buffer.AsSpan(0, length), out var reply, out _));
        Assert.True(reply.Header.IsReply);
        Assert.Equal(request, reply.Request);
        return reply.Payload.ToArray();
    }

    public ulong RequestU64(VhostUserRequest request)
    {
        var reply = Request(request, [], expectReply: true);
        Assert.NotNull(reply);
        Assert.True(VhostUserU64.TryRead(reply, out var value));
        return value;
    }

    public static byte[] U64(ulong value)
    {
        var bytes = new byte[8];
        VhostUserU64.Write(bytes, value);
        return bytes;
    }

    public static byte[] State(uint index, uint num)
    {
        var bytes = new byte[VringState.Size];
        new VringState(index, num).Write(bytes);
        return bytes;
    }

    /// <summary>Whether the back-end closed the connection (end of stream on the next read).</summary>
    public bool IsClosedByBackend()
    {
        var status = Channel.Receive(_buffer, [], out _);
        return status is VhostUserReceiveStatus.Closed or VhostUserReceiveStatus.Failed && Channel.LastErrno != Errno.EAGAIN;
    }

    /// <summary>
    /// The whole set-up QEMU does: features, protocol features with REPLY_ACK, memory, both rings
    /// of pair 0, enabled. With RING_PACKED in <paramref name="features"/> the rings are
    /// <see cref="PackedRx"/> and <see cref="PackedTx"/> of <paramref name="packedSize"/> slots,
    /// based at slot 0 with both wrap counters set, in the 32-bit form QEMU sends.
    /// </summary>
    public void SetUp(ulong features, ushort packedSize = RingSize)
    {
        var packed = VirtioFeatures.Has(features, VirtioFeatures.RingPacked);
        if (packed)
        {
            PackedRx = new TestPackedDriverRing(Memory, packedSize, TestGuestMemory.GuestBase);
            PackedTx = new TestPackedDriverRing(Memory, packedSize, TestGuestMemory.GuestBase + 0x10000);
        }

        var offered = RequestU64(VhostUserRequest.GetFeatures);
        Assert.True(!packed || VirtioFeatures.Has(offered, VirtioFeatures.RingPacked), $"RING_PACKED is not among the features offered (0x{offered:x})");
        Assert.Equal(0UL, RequestU64(VhostUserRequest.GetProtocolFeatures) & ~VhostUserBackendFeaturesProbe.ProtocolOffered);
        Request(VhostUserRequest.SetProtocolFeatures, U64(VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck) | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq)));
        Request(VhostUserRequest.SetOwner, []);
        AssertAck(Request(VhostUserRequest.SetFeatures, U64(features & offered), needReply: true));
        var table = new byte[8 + 32];
        MemoryTablePayload.Write(table, [Memory.Region]);
        AssertAck(Request(VhostUserRequest.SetMemTable, table, needReply: true, fds: Memory.Fd));
        for (uint i = 0; i < 2; i++)
        {
            var ringAddress = packed ? (i == 0 ? PackedRx! : PackedTx!).Address : (i == 0 ? Rx : Tx).Address;
            AssertAck(Request(VhostUserRequest.SetVringNum, State(i, packed ? packedSize : RingSize), needReply: true));
            AssertAck(Request(VhostUserRequest.SetVringBase, State(i, packed ? 0x8000_8000u : 0), needReply: true));
            var address = new byte[VringAddress.Size];
            (ringAddress with { Index = i }).Write(address);
            AssertAck(Request(VhostUserRequest.SetVringAddr, address, needReply: true));
            AssertAck(Request(VhostUserRequest.SetVringKick, U64(i), needReply: true, fds: Kicks[i]));
            AssertAck(Request(VhostUserRequest.SetVringCall, U64(i), needReply: true, fds: Calls[i]));
            AssertAck(Request(VhostUserRequest.SetVringEnable, State(i, 1), needReply: true));
        }
    }

    public static void AssertAck(byte[]? reply, ulong expected = 0)
    {
        Assert.NotNull(reply);
        Assert.True(VhostUserU64.TryRead(reply, out var value));
        Assert.Equal(expected, value);
    }

    public static void Kick(SafeFileHandle fd)
    {
        Span<byte> one = stackalloc byte[8];
        one[0] = 1;
        Assert.Equal(8, Libc.Write((int)fd.DangerousGetHandle(), one));
    }

    /// <summary>Waits (bounded) for the call eventfd to be signalled.</summary>
    public static bool WaitCalled(SafeFileHandle fd)
    {
        Span<PollFd> poll = [new PollFd { Fd = (int)fd.DangerousGetHandle(), Events = Libc.POLLIN }];
        if (Libc.Poll(poll, 30_000) <= 0)
        {
            return false;
        }

        Span<byte> counter = stackalloc byte[8];
        return Libc.Read((int)fd.DangerousGetHandle(), counter) == 8;
    }

    public void Dispose()
    {
        Channel.Dispose();
        foreach (var fd in Kicks.Concat(Calls))
        {
            fd.Dispose();
        }

        Memory.Dispose();
    }

    private static SafeFileHandle EventFd()
    {
        var fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(fd >= 0);
        return new SafeFileHandle(fd, ownsHandle: true);
    }
}

/// <summary>The protocol features the back-end may offer (what the tests allow).</summary>
internal static class VhostUserBackendFeaturesProbe
{
    public static ulong ProtocolOffered =>
        VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq)
        | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck)
        | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Rarp);
}

/// <summary>The back-end's peer: records what the guest sent, and injects frames for the guest.</summary>
internal sealed class FrameRecorder(bool vnetHeader = false) : NetClient("peer", NetClientDriver.Nic)
{
    public BlockingCollection<byte[]> Frames { get; } = [];

    public override bool HasVnetHeader => vnetHeader;

    public DeliveryResult Inject(ReadOnlySpan<byte> frame) => Send(frame);

    /// <summary>Sends a frame in pieces, as the user netdev sends a large TCP segment.</summary>
    public DeliveryResult InjectPieces(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2) => SendGather(head, body1, body2);

    /// <summary>
    /// Sends <paramref name="frame"/> as a tap reads one: straight into the receiver's buffer when
    /// it lends one (true), else by the ordinary path (false).
    /// </summary>
    public bool InjectInPlace(ReadOnlySpan<byte> frame)
    {
        if (!TryBeginSendInPlace(out var buffer))
        {
            Send(frame);
            return false;
        }

        frame.CopyTo(buffer);
        EndSendInPlace(frame.Length);
        return true;
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        Frames.Add(frame.ToArray());
        return ReceiveResult.Accepted;
    }
}
