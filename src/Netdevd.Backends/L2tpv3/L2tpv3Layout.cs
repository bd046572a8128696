using System.Buffers.Binary;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// Where each field of the L2TPv3 data header sits for one netdev (RFC 3931 §4.1 as QEMU and
/// Linux lay it out), computed once from the options exactly as QEMU's net_init_l2tpv3 does.
/// All fields are big-endian:
/// <code>
/// UDP only: 0x00030000           (T=0, ver=3, reserved)
///           session id           4 bytes
///           cookie               0, 4 or 8 bytes
///           L2-specific sublayer 0 or 4 bytes (QEMU's "counter")
///           padding              offset= bytes (zero here; QEMU leaves them uninitialised)
/// </code>
/// </summary>
internal sealed class L2tpv3Layout
{
    /// <summary>The "data packet" word that starts a UDP-encapsulated L2TPv3 data message.</summary>
    public const uint DataPacketWord = 0x00030000;

    public L2tpv3Layout(bool udp, bool ipv6, int cookieLength, bool counter, bool pinCounter, int padding)
    {
        if (cookieLength is not (0 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(cookieLength));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Udp = udp;
        Ipv6 = ipv6;
        CookieLength = cookieLength;
        SendsCounter = counter;
        PinCounter = pinCounter;
        Padding = padding;
        SessionOffset = udp ? 4 : 0;
        CookieOffset = SessionOffset + 4;
        CounterOffset = CookieOffset + cookieLength;

        // QEMU: pincounter alone marks "has counter" but only counter=on grows the header, so
        // with pincounter alone no sublayer is sent (its zero lands in the padding, or nowhere).
        HeaderLength = CounterOffset + (counter ? 4 : 0) + padding;
    }

    public bool Udp { get; }

    public bool Ipv6 { get; }

    /// <summary>Raw IPv4 sockets hand us the IP header in front of the L2TPv3 header.</summary>
    public bool HasIpHeader => !Udp && !Ipv6;

    public int SessionOffset { get; }

    public int CookieOffset { get; }

    /// <summary>0 (no cookies), 4 or 8.</summary>
    public int CookieLength { get; }

    public int CounterOffset { get; }

    /// <summary>counter=on: a 4-byte L2-specific sublayer follows the cookie.</summary>
    public bool SendsCounter { get; }

    /// <summary>pincounter=on: the sublayer (when sent) is always 0.</summary>
    public bool PinCounter { get; }

    /// <summary>offset=: bytes between the header and the frame.</summary>
    public int Padding { get; }

    /// <summary>Bytes in front of every frame on the wire (QEMU's s->offset).</summary>
    public int HeaderLength { get; }

    /// <summary>
    /// Writes the constant part of the header (everything but the counter) into
    /// <paramref name="header"/>, which must be <see cref="HeaderLength"/> bytes.
    /// </summary>
    public void WriteTemplate(Span<byte> header, uint txSession, ulong txCookie)
    {
        header = header[..HeaderLength];
        header.Clear();
        if (Udp)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header, DataPacketWord);
        }

        BinaryPrimitives.WriteUInt32BigEndian(header[SessionOffset..], txSession);
        if (CookieLength == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(header[CookieOffset..], txCookie);
        }
        else if (CookieLength == 4)
        {
            // A 32-bit cookie is the low half of txcookie (QEMU stores it with stl_be_p).
            BinaryPrimitives.WriteUInt32BigEndian(header[CookieOffset..], unchecked((uint)txCookie));
        }
    }

    /// <summary>Sets the counter field of a header made by <see cref="WriteTemplate"/>, when one is sent and not pinned.</summary>
    public void WriteCounter(Span<byte> header, uint value)
    {
        if (SendsCounter && !PinCounter)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header[CounterOffset..], value);
        }
    }

    /// <summary>
    /// Checks a received datagram (starting at the L2TPv3 header, after any IP header) the
    /// way QEMU does: cookie first, then session; the data word, counter and padding are not
    /// looked at. On <see cref="L2tpv3Verdict.Accepted"/> the frame starts at <see cref="HeaderLength"/>.
    /// </summary>
    public L2tpv3Verdict Check(ReadOnlySpan<byte> datagram, uint rxSession, ulong rxCookie)
    {
        if (datagram.Length <= HeaderLength)
        {
            // QEMU drops datagrams without payload (and logs its "verification failed" once).
            return L2tpv3Verdict.Short;
        }

        if (CookieLength != 0)
        {
            var cookie = CookieLength == 8
                ? BinaryPrimitives.ReadUInt64BigEndian(datagram[CookieOffset..])
                : BinaryPrimitives.ReadUInt32BigEndian(datagram[CookieOffset..]);
            var expected = CookieLength == 8 ? rxCookie : (uint)rxCookie;
            if (cookie != expected)
            {
                return L2tpv3Verdict.CookieMismatch;
            }
        }

        return BinaryPrimitives.ReadUInt32BigEndian(datagram[SessionOffset..]) == rxSession
            ? L2tpv3Verdict.Accepted
            : L2tpv3Verdict.SessionMismatch;
    }

    /// <summary>
    /// The length of the IPv4 header in front of a raw-socket datagram (its IHL; QEMU assumes
    /// 20 and would misparse packets with IP options), or -1 if it is not a sane IPv4 header.
    /// </summary>
    public static int Ipv4HeaderLength(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 20 || (packet[0] >> 4) != 4)
        {
            return -1;
        }

        var length = (packet[0] & 0x0f) * 4;
        return length < 20 || length > packet.Length ? -1 : length;
    }
}
