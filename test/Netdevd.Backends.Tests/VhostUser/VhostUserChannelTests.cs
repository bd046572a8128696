using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.VhostUser;

public sealed class VhostUserChannelTests
{
    private static (VhostUserChannel Channel, Socket Peer) Pair()
    {
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, (int)SocketType.Stream | Libc.SOCK_CLOEXEC, 0, out var a, out var b));
        return (new VhostUserChannel(new Socket(new SafeSocketHandle(a, true))), new Socket(new SafeSocketHandle(b, true)));
    }

    [Fact]
    public void A_message_arrives_with_its_descriptors()
    {
        var (channel, peer) = Pair();
        using var owned = channel;
        using var ownedPeer = peer;
        using var sender = new VhostUserChannel(peer);
        using var memfd = new SafeFileHandle(Libc.MemfdCreate("x", Libc.MFD_CLOEXEC), true);
        Span<byte> payload = stackalloc byte[8];
        VhostUserU64.Write(payload, 0x100);
        Assert.True(sender.Send(VhostUserRequest.SetVringKick, 0, payload, [memfd]));

        var buffer = new byte[VhostUserChannel.BufferSize];
        var fds = new List<SafeFileHandle>();
        Assert.Equal(VhostUserReceiveStatus.Message, channel.Receive(buffer, fds, out var length));
        Assert.Equal(20, length);
        Assert.Single(fds);
        Assert.Equal(VhostUserParseStatus.Complete, VhostUserMessage.TryParse(buffer.AsSpan(0, length), out var message, out _));
        Assert.Equal(VhostUserRequest.SetVringKick, message.Request);
        fds[0].Dispose();
    }

    [Fact]
    public void Sending_on_a_channel_another_thread_closed_fails_instead_of_throwing()
    {
        var (channel, peer) = Pair();
        using var ownedPeer = peer;
        channel.Dispose();
        Span<byte> payload = stackalloc byte[8];
        Assert.False(channel.Send(VhostUserRequest.GetVringBase, 0, payload));
    }

    [Fact]
    public void An_oversized_size_is_refused_without_reading_the_payload()
    {
        var (channel, peer) = Pair();
        using var owned = channel;
        using var ownedPeer = peer;
        var header = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 5);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 0x7fffffff);
        peer.Send(header);
        Assert.Equal(VhostUserReceiveStatus.Malformed, channel.Receive(new byte[VhostUserChannel.BufferSize], [], out _));
    }

    [Fact]
    public void End_of_stream_mid_message_is_malformed_and_between_messages_is_closed()
    {
        var (channel, peer) = Pair();
        using var owned = channel;
        var header = new byte[12 + 3];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 8);
        peer.Send(header);
        peer.Dispose();
        Assert.Equal(VhostUserReceiveStatus.Malformed, channel.Receive(new byte[VhostUserChannel.BufferSize], [], out _));

        var (second, peer2) = Pair();
        using var ownedSecond = second;
        peer2.Dispose();
        Assert.Equal(VhostUserReceiveStatus.Closed, second.Receive(new byte[VhostUserChannel.BufferSize], [], out _));
    }
}
