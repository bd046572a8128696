using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>One forwarded port: host port (on <see cref="HostAddress"/>, or every address) to guest port.</summary>
internal readonly record struct PortForward(string Protocol, IPAddress? HostAddress, int HostPort, int GuestPort)
{
    /// <summary>As QEMU's hostfwd rule, to the guest's (first DHCP) address.</summary>
    public string ToHostfwd()
    {
        var host = HostAddress switch
        {
            null => string.Empty,
            { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } a => $"[{a}]",
            var a => a.ToString(),
        };
        return System.FormattableString.Invariant($"{Protocol}:{host}:{HostPort}-:{GuestPort}");
    }
}
