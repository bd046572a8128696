namespace Netdevd.Wire;

/// <summary>
/// Views over the Neighbor Discovery messages (RFC 4861 4): each is an ICMPv6 message whose fixed
/// part is followed by options (<see cref="NdpOptionReader"/>). Each <c>TryCreate</c> checks the
/// fixed part's length only; hop limit 255, code 0 and the checksum are the receiver's checks (7.1.1).
/// </summary>
public readonly ref struct NdpRouterSolicitation
{
    public const int HeaderLength = 8;

    private readonly Span<byte> _b;

    private NdpRouterSolicitation(Span<byte> icmp) => _b = icmp;

    public static bool TryCreate(Span<byte> icmp, out NdpRouterSolicitation message)
    {
        message = new NdpRouterSolicitation(icmp);
        return icmp.Length >= HeaderLength;
    }

    public Span<byte> Options => _b[HeaderLength..];
}
