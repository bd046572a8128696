using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>One forwarded port: host port (on <see cref="HostAddress"/>, or every address) to guest port.</summary>
internal readonly record struct PortForward(string Protocol, IPAddress? HostAddress, int HostPort, int GuestPort)
{
    /// <summary>As QEMU's hostfwd rule, to the guest's (first DHCP) address.</summary>
    public string ToHostfwd() => ToHostfwd(HostAddress, null);

    /// <summary>As QEMU's hostfwd rule from <paramref name="host"/> (every IPv4 address when null) to <paramref name="guest"/> (the first DHCP address when null).</summary>
    public string ToHostfwd(IPAddress? host, IPAddress? guest) =>
        System.FormattableString.Invariant($"{Protocol}:{Text(host)}:{HostPort}-{Text(guest)}:{GuestPort}");

    private static string Text(IPAddress? address) => address switch
    {
        null => string.Empty,
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } a => $"[{a}]",
        var a => a.ToString(),
    };
}
