namespace Netdevd.Wire;

/// <summary>
/// The result of walking an IPv6 datagram's extension headers (RFC 8200 4). Offsets count from the
/// first byte of the IPv6 header, which is what an ICMPv6 Parameter Problem pointer needs.
/// </summary>
/// <remarks>
/// The walk stops at the first header that is not an extension header it knows (hop-by-hop,
/// routing, fragment, destination options): that value is <see cref="Protocol"/>, and whether the
/// owner handles it is the owner's decision (an unhandled value is RFC 8200's "unrecognized Next
/// Header", reported with code 1 at <see cref="NextHeaderFieldOffset"/>). It also stops at a
/// fragment header unless the fragment is atomic (offset 0, no more fragments, RFC 6946): then
/// <see cref="IsFragment"/> is set and <see cref="Protocol"/> is 44; the owner reassembles and walks
/// the whole datagram again. A walk never reads outside the datagram and never loops.
/// </remarks>
public readonly record struct Ipv6HeaderChain
{
    /// <summary>More extension headers than this in one datagram are dropped (real senders use two or three).</summary>
    public const int MaximumHeaders = 8;

    private const byte OptionPad1 = 0;
    private const byte OptionPadN = 1;

    public Ipv6ChainStatus Status { get; init; }

    /// <summary>The upper-layer protocol (or 44 for a fragment that needs reassembly).</summary>
    public byte Protocol { get; init; }

    /// <summary>Where the upper-layer header starts (or, for a fragment, where the fragment header starts).</summary>
    public int UpperOffset { get; init; }

    /// <summary>Where the byte holding <see cref="Protocol"/> is (6 without extension headers).</summary>
    public int NextHeaderFieldOffset { get; init; }

    /// <summary>The fragment header's offset, or -1 when there is none.</summary>
    public int FragmentHeaderOffset { get; init; }

    /// <summary>Extension headers walked.</summary>
    public int HeaderCount { get; init; }

    /// <summary>ICMPv6 Parameter Problem code (0 erroneous field, 1 unrecognized next header, 2 unrecognized option).</summary>
    public byte ProblemCode { get; init; }

    /// <summary>The Parameter Problem pointer (meaningful when <see cref="Report"/> is not None).</summary>
    public int ProblemPointer { get; init; }

    /// <summary>Whether RFC 8200 asks for a Parameter Problem to the sender.</summary>
    public Ipv6ProblemReport Report { get; init; }

    public bool IsComplete => Status == Ipv6ChainStatus.Complete;

    /// <summary>A non-atomic fragment: <see cref="FragmentHeaderOffset"/> points at its header.</summary>
    public bool IsFragment => Status == Ipv6ChainStatus.Complete && Protocol == Ipv6ExtensionHeader.Fragment;

    /// <summary>Walks <paramref name="datagram"/> (a whole IPv6 datagram, header included, no link padding).</summary>
    public static Ipv6HeaderChain Walk(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < Ipv6Packet.HeaderLength)
        {
            return new Ipv6HeaderChain { Status = Ipv6ChainStatus.Truncated, FragmentHeaderOffset = -1 };
        }

        var next = datagram[6];
        var fieldOffset = 6;
        var offset = Ipv6Packet.HeaderLength;
        var fragmentOffset = -1;
        for (var count = 0; ; count++)
        {
            if (next is not (Ipv6ExtensionHeader.HopByHop or Ipv6ExtensionHeader.Routing or Ipv6ExtensionHeader.Fragment or Ipv6ExtensionHeader.DestinationOptions))
            {
                return new Ipv6HeaderChain
                {
                    Status = Ipv6ChainStatus.Complete,
                    Protocol = next,
                    UpperOffset = offset,
                    NextHeaderFieldOffset = fieldOffset,
                    FragmentHeaderOffset = fragmentOffset,
                    HeaderCount = count,
                };
            }

            if (count >= MaximumHeaders)
            {
                return Fail(Ipv6ChainStatus.TooManyHeaders, offset, count);
            }

            if (next == Ipv6ExtensionHeader.HopByHop && count > 0)
            {
                return Problem(Ipv6ChainStatus.MisplacedHopByHop, 1, fieldOffset, Ipv6ProblemReport.Always, count);
            }

            if (offset + 8 > datagram.Length)
            {
                return Fail(Ipv6ChainStatus.Truncated, offset, count);
            }

            // Fragment headers are 8 bytes whatever their second byte says; the others count 8-byte units after the first 8.
            var length = next == Ipv6ExtensionHeader.Fragment ? 8 : (datagram[offset + 1] + 1) * 8;
            if (offset + length > datagram.Length)
            {
                return Fail(Ipv6ChainStatus.Truncated, offset, count);
            }

            var header = datagram.Slice(offset, length);
            switch (next)
            {
                case Ipv6ExtensionHeader.HopByHop:
                case Ipv6ExtensionHeader.DestinationOptions:
                    var options = CheckOptions(header, offset, count);
                    if (options.HasValue)
                    {
                        return options.Value;
                    }

                    break;
                case Ipv6ExtensionHeader.Routing:
                    // Segments left 0: ignore the header and go on (RFC 8200 4.4). Otherwise we would have
                    // to route by a type we do not implement (type 0 is deprecated, RFC 5095): code 0 at the type.
                    if (header[3] != 0)
                    {
                        return Problem(Ipv6ChainStatus.UnsupportedRouting, 0, offset + 2, Ipv6ProblemReport.Always, count);
                    }

                    break;
                case Ipv6ExtensionHeader.Fragment:
                    fragmentOffset = offset;
                    // Offset (13 bits) and M (bit 0) both zero: an atomic fragment, a whole datagram.
                    if ((((header[2] << 8) | header[3]) & 0xFFF9) != 0)
                    {
                        return new Ipv6HeaderChain
                        {
                            Status = Ipv6ChainStatus.Complete,
                            Protocol = Ipv6ExtensionHeader.Fragment,
                            UpperOffset = offset,
                            NextHeaderFieldOffset = fieldOffset,
                            FragmentHeaderOffset = offset,
                            HeaderCount = count + 1,
                        };
                    }

                    break;
            }

            next = header[0];
            fieldOffset = offset;
            offset += length;
        }
    }

    /// <summary>Checks the TLV options of a hop-by-hop or destination options header (RFC 8200 4.2).</summary>
    private static Ipv6HeaderChain? CheckOptions(ReadOnlySpan<byte> header, int headerOffset, int count)
    {
        var i = 2;
        while (i < header.Length)
        {
            var type = header[i];
            if (type == OptionPad1)
            {
                i++;
                continue;
            }

            if (i + 2 > header.Length || i + 2 + header[i + 1] > header.Length)
            {
                return Fail(Ipv6ChainStatus.Truncated, headerOffset + i, count);
            }

            // Every option other than padding is one we do not process (router alert, jumbo payload,
            // tunnel limit...): the two top bits of its type say what to do (4.2).
            if (type != OptionPadN)
            {
                switch (type >> 6)
                {
                    case 1:
                        return Problem(Ipv6ChainStatus.UnknownOption, 2, headerOffset + i, Ipv6ProblemReport.None, count);
                    case 2:
                        return Problem(Ipv6ChainStatus.UnknownOption, 2, headerOffset + i, Ipv6ProblemReport.Always, count);
                    case 3:
                        return Problem(Ipv6ChainStatus.UnknownOption, 2, headerOffset + i, Ipv6ProblemReport.UnlessMulticast, count);
                }
            }

            i += 2 + header[i + 1];
        }

        return null;
    }

    private static Ipv6HeaderChain Fail(Ipv6ChainStatus status, int offset, int count) =>
        new() { Status = status, UpperOffset = offset, FragmentHeaderOffset = -1, HeaderCount = count };

    private static Ipv6HeaderChain Problem(Ipv6ChainStatus status, byte code, int pointer, Ipv6ProblemReport report, int count) =>
        new() { Status = status, ProblemCode = code, ProblemPointer = pointer, Report = report, FragmentHeaderOffset = -1, HeaderCount = count };
}
