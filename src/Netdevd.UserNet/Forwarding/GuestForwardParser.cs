using System.Net;
using Netdevd.Qapi.Errors;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// <c>[tcp]:[server]:port-cmd:COMMAND</c> and <c>[tcp]:[server]:port-DEV</c> with DEV a chardev
/// netdevd can open as a client: <c>tcp:HOST:PORT</c> or <c>unix:PATH</c> (QEMU's
/// slirp_guestfwd and libslirp's checks, with their texts). Opening the device is the caller's
/// (<see cref="Host.GuestForwardDevice"/>), when the netdev is created.
/// </summary>
public static class GuestForwardParser
{
    public static GuestForwardRule Parse(string text, UserStackOptions network, IReadOnlyCollection<GuestForwardRule> existing)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(existing);
        var syntax = new QapiException($"Invalid guest forwarding rule '{text}'");
        var rest = text;
        if (!RuleText.TryCut(ref rest, ':', out var protocol) || protocol is not ("tcp" or ""))
        {
            throw syntax;
        }

        if (!RuleText.TryCut(ref rest, ':', out var serverText))
        {
            throw syntax;
        }

        // libslirp's default server is x.x.2.4 of the virtual network.
        var server = new Ipv4Address(network.Network.Value | (0x0204u & ~network.Netmask.Value));
        if (serverText.Length > 0 && !InetAton.TryParse(serverText, out server))
        {
            throw syntax;
        }

        if (!RuleText.TryCut(ref rest, '-', out var portText)
            || !CNumber.TryParseInt(portText, 10, out var port, out var end) || end != portText.Length || port is < 1 or > 65535)
        {
            throw syntax;
        }

        var deviceName = $"guestfwd.tcp.{port}";
        HostTarget target = rest.StartsWith("cmd:", StringComparison.Ordinal)
            ? new HostTarget.Command(rest[4..])
            : ParseDevice(rest, deviceName) ?? throw new QapiException($"Could not open guest forwarding device '{deviceName}'");

        var conflict = !server.IsInNetwork(network.Network, network.Netmask) || server == network.Host || server == network.Dns;
        foreach (var rule in existing)
        {
            conflict |= rule.Server == server && rule.Port == port;
        }

        if (conflict)
        {
            throw new QapiException($"Conflicting/invalid host:port in guest forwarding rule '{text}'");
        }

        return new GuestForwardRule(text, server, (ushort)port, target);
    }

    private static HostTarget.Device? ParseDevice(string device, string name)
    {
        if (device.StartsWith("unix:", StringComparison.Ordinal) && device.Length > 5)
        {
            var path = device[5..].Split(',')[0];
            if (path.Length == 0)
            {
                return null;
            }

            // unix_connect_saddr's check (before the chardev connects), with its hint.
            if (System.Text.Encoding.UTF8.GetByteCount(path) >= Netdevd.Native.SockAddr.UnixPathCapacity)
            {
                throw new QapiException($"Could not open guest forwarding device '{name}'")
                {
                    PrecedingReport = $"UNIX socket path '{path}' is too long\nPath must be less than {Netdevd.Native.SockAddr.UnixPathCapacity} bytes",
                };
            }

            return new HostTarget.Device(name, path, new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        }

        if (!device.StartsWith("tcp:", StringComparison.Ordinal))
        {
            return null;
        }

        var spec = device[4..].Split(',')[0];
        var colon = spec.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(spec.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            return null;
        }

        var display = spec;
        var host = spec[..colon];
        if (host.Length == 0)
        {
            host = "127.0.0.1";
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            try
            {
                address = Array.Find(Dns.GetHostAddresses(host), a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            }
            catch (System.Net.Sockets.SocketException)
            {
                return null;
            }
        }

        return address is null ? null : new HostTarget.Device(name, display, new IPEndPoint(address, port));
    }
}
