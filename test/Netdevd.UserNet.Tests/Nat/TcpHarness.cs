using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// Drives one <see cref="TcpConnection"/> as the guest would, with a manual clock: a struct-update
/// style helper per segment (smoltcp's send! with ..SEND_TEMPL), no sockets, no sleeps.
/// </summary>
internal sealed class TcpHarness : IDisposable
{
    public const uint GuestIss = 1000;
    public const uint OurIss = 5000;

    public static readonly TcpFlowAddress Address = new(Ipv4Address.Create(10, 0, 2, 15), 40000, Ipv4Address.Create(10, 0, 2, 2), 80);

    public TcpHarness(TcpSettings? settings = null, ushort guestMss = 1460, byte? guestScale = 7, ushort guestWindow = 65535, bool established = true)
    {
        Settings = settings ?? new TcpSettings { SendBufferSize = 64 * 1024, ReceiveBufferSize = 64 * 1024 };
        var syn = new TcpSegment(GuestIss, 0, TcpFlags.Syn, guestWindow, default, new TcpOptions { MaximumSegmentSize = guestMss, WindowScale = guestScale });
        Connection = TcpConnection.AcceptSyn(Settings, Output, Address, syn, OurIss, Now);
        if (established)
        {
            Connection.HostConnected();
            Dispatch();
            Output.Take();
            Send(TcpFlags.Ack, GuestIss + 1, OurIss + 1, guestWindow);
        }
    }

    public TcpSettings Settings { get; }

    public RecordingTcpOutput Output { get; } = new();

    public TcpConnection Connection { get; }

    public long Now { get; set; }

    /// <summary>Guest's next sequence number (after the handshake).</summary>
    public uint GuestNext { get; set; } = GuestIss + 1;

    public void Send(TcpFlags flags, uint seq, uint ack, ushort window, byte[]? payload = null)
    {
        var seg = new TcpSegment(seq, ack, flags, window, payload ?? [], default);
        Connection.OnSegment(seg, Now);
        Connection.Dispatch(Now);
    }

    /// <summary>The guest sends data at its next sequence number, acknowledging <paramref name="ack"/>.</summary>
    public void SendData(byte[] data, uint ack, ushort window = 65535)
    {
        Send(TcpFlags.Ack | TcpFlags.Psh, GuestNext, ack, window, data);
        GuestNext += (uint)data.Length;
    }

    public void Dispatch() => Connection.Dispatch(Now);

    public void Advance(long ms)
    {
        Now += ms;
        Connection.OnTimer(Now);
        Connection.Dispatch(Now);
    }

    /// <summary>The host socket delivers <paramref name="data"/> into the send buffer.</summary>
    public void HostSends(byte[] data)
    {
        var space = Connection.HostReadBuffer();
        data.CopyTo(space.AsSpan());
        Connection.HostReceived(data.Length);
        Connection.Dispatch(Now);
    }

    /// <summary>Everything written towards the host so far, drained.</summary>
    public byte[] HostDrains()
    {
        var result = new List<byte>();
        while (true)
        {
            var seg = Connection.HostWriteBuffer();
            if (seg.Count == 0)
            {
                break;
            }

            result.AddRange(seg);
            Connection.HostWritten(seg.Count);
        }

        Connection.Dispatch(Now);
        return [.. result];
    }

    public void Dispose() => Connection.Dispose();
}
