using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// The l2tpv3 options checked and read as QEMU's net_init_l2tpv3 reads them, before any socket
/// exists: the first three checks of QEMU's order (offset, cookie pair, UDP ports) and its flag
/// quirks (cookie64 counts when present at all; counter only with counter=on).
/// </summary>
internal sealed class L2tpv3Config
{
    /// <summary>IANA's IP protocol number for L2TPv3 over IP.</summary>
    public const int IpProtocolL2tp = 115;

    private L2tpv3Config(NetdevL2TPv3Options options, L2tpv3Layout layout, bool cookies)
    {
        Src = options.Src;
        Dst = options.Dst;
        Srcport = layout.Udp ? options.Srcport : null;
        Dstport = layout.Udp ? options.Dstport : null;
        Layout = layout;
        TxSession = options.Txsession;
        RxSession = options.Rxsession ?? options.Txsession;
        TxCookie = cookies ? options.Txcookie!.Value : 0;
        RxCookie = cookies ? options.Rxcookie!.Value : 0;
    }

    public string Src { get; }

    public string Dst { get; }

    /// <summary>The UDP source port (service) in UDP mode; null in IP mode, where QEMU ignores it.</summary>
    public string? Srcport { get; }

    public string? Dstport { get; }

    public L2tpv3Layout Layout { get; }

    public uint TxSession { get; }

    public uint RxSession { get; }

    public ulong TxCookie { get; }

    public ulong RxCookie { get; }

    public static L2tpv3Config From(NetdevL2TPv3Options options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // QEMU's message says "less than" but 256 itself is accepted.
        if (options.Offset is > 256)
        {
            throw new QapiException("offset must be less than 256 bytes");
        }

        var cookies = false;
        if (options.Rxcookie.HasValue || options.Txcookie.HasValue)
        {
            if (!(options.Rxcookie.HasValue && options.Txcookie.HasValue))
            {
                throw new QapiException("require both 'rxcookie' and 'txcookie' or neither");
            }

            cookies = true;
        }

        var udp = options.Udp == true;
        if (udp && (options.Srcport is null || options.Dstport is null))
        {
            throw new QapiException("need both src and dst port for udp");
        }

        // QEMU tests "has_cookie64 || cookie64": cookie64=off still selects 64-bit cookies.
        var cookieLength = !cookies ? 0 : options.Cookie64.HasValue ? 8 : 4;
        var layout = new L2tpv3Layout(
            udp,
            options.Ipv6 == true,
            cookieLength,
            counter: options.Counter == true,
            pinCounter: options.Pincounter == true,
            padding: (int)(options.Offset ?? 0));
        return new L2tpv3Config(options, layout, cookies);
    }
}
