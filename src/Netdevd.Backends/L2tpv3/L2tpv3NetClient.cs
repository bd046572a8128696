using Microsoft.Extensions.Logging;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// An L2TPv3 pseudowire endpoint (QEMU's NetL2TPV3State): every frame travels in one datagram
/// behind an L2TPv3 data header, over UDP or straight over IP (protocol 115). The socket, the
/// drain, batching, back-pressure and error handling are <see cref="DatagramSocketClient"/>'s;
/// this class adds only the header: built from a template (plus the counter) in front of each
/// frame sent, checked (cookie, then session, as QEMU) on each datagram received.
/// </summary>
/// <remarks>
/// Mismatches are dropped, counted and the first one is logged with QEMU's texts. Received
/// frames are handed on from the receive slab without copying; a sent frame leaves as a
/// two-piece sendmsg, or copied behind its header into the sender's sendmmsg batch.
/// </remarks>
public sealed class L2tpv3NetClient : DatagramSocketClient
{
    private readonly L2tpv3Layout _layout;
    private readonly byte[] _header;
    private readonly uint _rxSession;
    private readonly ulong _rxCookie;

    // Under the send lock: the counter of the last frame that left (QEMU pre-increments, so the first carries 1).
    private uint _counter;

    // Poll thread.
    private bool _mismatchLogged;

    internal L2tpv3NetClient(string name, L2tpv3Config config, int fd, SockAddr destination, ILogger? logger, IoThreadPool? pool = null)
        : base(name, NetClientDriver.L2tpv3, fd, destination, new L2tpv3Counters(), logger, pool)
    {
        ArgumentNullException.ThrowIfNull(config);
        _layout = config.Layout;
        _rxSession = config.RxSession;
        _rxCookie = config.RxCookie;
        _header = new byte[_layout.HeaderLength];
        _layout.WriteTemplate(_header, config.TxSession, config.TxCookie);
        Counters = (L2tpv3Counters)base.Counters;
        Info = "l2tpv3: connected";
        StartPolling();
    }

    /// <summary>The datagram counters and the header checks' verdicts.</summary>
    public new L2tpv3Counters Counters { get; }

    /// <summary>Bytes of L2TPv3 header (plus offset padding) in front of each frame sent.</summary>
    public int HeaderLength => _layout.HeaderLength;

    private protected override ReadOnlySpan<byte> NextHeader()
    {
        // A frame refused with EAGAIN is retried later with this same value.
        _layout.WriteCounter(_header, _counter + 1);
        return _header;
    }

    private protected override void HeaderUsed() => _counter++;

    private protected override bool TryDecapsulate(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> frame)
    {
        frame = default;
        if (_layout.HasIpHeader)
        {
            var ipHeader = L2tpv3Layout.Ipv4HeaderLength(datagram);
            if (ipHeader < 0)
            {
                Reject(L2tpv3Verdict.Short);
                return false;
            }

            datagram = datagram[ipHeader..];
        }

        var verdict = _layout.Check(datagram, _rxSession, _rxCookie);
        if (verdict != L2tpv3Verdict.Accepted)
        {
            Reject(verdict);
            return false;
        }

        frame = datagram[_layout.HeaderLength..];
        return true;
    }

    private void Reject(L2tpv3Verdict verdict)
    {
        switch (verdict)
        {
            case L2tpv3Verdict.CookieMismatch:
                Counters.CookieMismatches++;
                break;
            case L2tpv3Verdict.SessionMismatch:
                Counters.SessionMismatches++;
                break;
            default:
                Counters.DroppedShort++;
                break;
        }

        // QEMU reports the first bad datagram only (DoS avoidance), with these texts.
        if (_mismatchLogged)
        {
            return;
        }

        _mismatchLogged = true;
        if (verdict == L2tpv3Verdict.CookieMismatch)
        {
            Logger.LogWarning("netdev {Name}: unknown cookie id", Name);
        }
        else if (verdict == L2tpv3Verdict.SessionMismatch)
        {
            Logger.LogWarning("netdev {Name}: session mismatch", Name);
        }

        Logger.LogWarning("netdev {Name}: l2tpv3 header verification failed", Name);
    }
}
