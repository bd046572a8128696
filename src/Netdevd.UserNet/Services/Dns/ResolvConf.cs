using System.Globalization;
using System.Net;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// Reads the host's resolvers from a resolv.conf: <c>nameserver ADDR</c> lines, IPv4 or IPv6,
/// loopback resolvers (systemd-resolved's 127.0.0.53) included, at most three as the C library
/// uses. An extension for tests and odd setups: <c>nameserver 127.0.0.1#5353</c> names a port.
/// </summary>
public static class ResolvConf
{
    public const int MaxResolvers = 3;

    public static IReadOnlyList<IPEndPoint> Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    public static IReadOnlyList<IPEndPoint> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<IPEndPoint>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || parts[0] != "nameserver")
            {
                continue;
            }

            var value = parts[1];
            var port = 53;
            var hash = value.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                if (!int.TryParse(value.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) ||
                    port is < 1 or > 65535)
                {
                    continue;
                }

                value = value[..hash];
            }

            if (IPAddress.TryParse(value, out var address) && result.Count < MaxResolvers)
            {
                result.Add(new IPEndPoint(address, port));
            }
        }

        return result;
    }
}
