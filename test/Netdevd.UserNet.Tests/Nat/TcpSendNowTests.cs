using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// Large in-order guest segments go to the host socket straight from the guest's frame when
/// nothing older waits in the ring; what the socket does not take waits in the ring, in order, and
/// every byte taken either way is acknowledged. Out-of-order bytes and bytes behind waiting ones
/// never skip ahead; small segments wait in the ring, to leave with the rest of their batch.
/// </summary>
public sealed class TcpSendNowTests
{
    private const int Large = 40_000;

    private static byte[] Pattern(int length, int seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7 + seed))];

    private static TcpHarness NewHarness() => new(new TcpSettings { SendBufferSize = 64 * 1024, ReceiveBufferSize = 256 * 1024 });

    [Fact]
    public void In_order_bytes_with_an_empty_ring_go_to_the_socket_at_once_and_the_rest_waits_in_order()
    {
        using var h = NewHarness();
        var socket = new RecordingSocket { Takes = 30_000 };
        h.Connection.HostState = socket;
        var data = Pattern(Large, 1);
        h.SendData(data, TcpHarness.OurIss + 1);

        Assert.Equal(data, Assert.Single(socket.Offered));
        Assert.Equal(data[30_000..], h.HostDrains()); // the ring holds only what the socket left
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);
    }

    [Fact]
    public void Bytes_behind_bytes_waiting_in_the_ring_are_not_offered_ahead_of_them()
    {
        using var h = NewHarness();
        var socket = new RecordingSocket { Takes = 0 }; // full: the first segment waits in the ring
        h.Connection.HostState = socket;
        var first = Pattern(Large, 2);
        var second = Pattern(Large, 3);
        h.SendData(first, TcpHarness.OurIss + 1);
        socket.Takes = int.MaxValue;
        h.SendData(second, TcpHarness.OurIss + 1);

        Assert.Equal(first, Assert.Single(socket.Offered));
        Assert.Equal([.. first, .. second], h.HostDrains());
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);
    }

    [Fact]
    public void Out_of_order_bytes_and_the_bytes_that_fill_the_gap_before_them_wait_in_the_ring()
    {
        using var h = NewHarness();
        var socket = new RecordingSocket { Takes = int.MaxValue };
        h.Connection.HostState = socket;
        var first = Pattern(Large, 4);
        var second = Pattern(Large, 5);
        var start = h.GuestNext;
        h.Send(TcpFlags.Ack, start + Large, TcpHarness.OurIss + 1, 65535, second);
        h.Send(TcpFlags.Ack, start, TcpHarness.OurIss + 1, 65535, first);

        Assert.Empty(socket.Offered);
        Assert.Equal([.. first, .. second], h.HostDrains());
        Assert.Equal(start + (2 * Large), h.Output.Take()[^1].Ack);

        // With the ring empty again, the next in-order bytes go straight to the socket.
        var third = Pattern(Large, 6);
        h.GuestNext = start + (2 * Large);
        h.SendData(third, TcpHarness.OurIss + 1);
        Assert.Equal(third, Assert.Single(socket.Offered));
        Assert.Empty(h.HostDrains());
    }

    [Fact]
    public void Small_segments_wait_in_the_ring_for_the_write_after_the_pass()
    {
        using var h = NewHarness();
        var socket = new RecordingSocket { Takes = int.MaxValue };
        h.Connection.HostState = socket;
        var first = Pattern(1448, 7);
        var second = Pattern(1448, 8);
        h.SendData(first, TcpHarness.OurIss + 1);
        h.SendData(second, TcpHarness.OurIss + 1);

        Assert.Empty(socket.Offered);
        Assert.Equal([.. first, .. second], h.HostDrains());
        Assert.Equal(h.GuestNext, h.Output.Take()[^1].Ack);
    }

    /// <summary>A host socket that records every offer and takes up to <see cref="Takes"/> bytes of it.</summary>
    private sealed class RecordingSocket : ITcpHostSocket
    {
        public int Takes { get; set; }

        public List<byte[]> Offered { get; } = [];

        public void Sync()
        {
        }

        public void Close()
        {
        }

        public int SendNow(ReadOnlySpan<byte> data)
        {
            Offered.Add(data.ToArray());
            return Math.Min(Takes, data.Length);
        }
    }
}
