using System.Text;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Schema;

namespace Netdevd.Cli;

/// <summary>
/// Turns the <c>-netdev</c> arguments into netdevs the way QEMU does: each is parsed (and
/// validated) in the order given, and they are created modern ones first, then legacy ones.
/// </summary>
internal static class NetdevRequests
{
    /// <summary>
    /// QEMU's order in "-netdev help" (net.c's show_netdevs, not the schema's): a Linux QEMU
    /// lists what it was built with in this order, netdevd what it provides.
    /// </summary>
    private static readonly NetClientDriver[] HelpOrder =
    [
        NetClientDriver.Socket, NetClientDriver.Stream, NetClientDriver.Dgram, NetClientDriver.Hubport,
        NetClientDriver.Tap, NetClientDriver.User, NetClientDriver.L2tpv3, NetClientDriver.Vde,
        NetClientDriver.Bridge, NetClientDriver.Netmap, NetClientDriver.VhostUser, NetClientDriver.VhostVdpa,
        NetClientDriver.AfXdp,
    ];

    /// <summary>QEMU's "-netdev help" text, listing what this build provides.</summary>
    public static string HelpText(IEnumerable<INetdevFactory> factories)
    {
        var sb = new StringBuilder("Available netdev backend types:\n");
        var provided = new HashSet<NetClientDriver>();
        foreach (var f in factories)
        {
            provided.Add(f.Driver);
        }

        foreach (var d in HelpOrder)
        {
            if (provided.Contains(d))
            {
                sb.Append(d.ToQapi()).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Parses every spec in order. A help request (<c>help</c>, <c>type=help</c>) throws
    /// <see cref="NetdevHelpRequestedException"/>; deprecation warnings go to <paramref name="warn"/>.
    /// </summary>
    public static IReadOnlyList<NetdevRequest> Parse(IReadOnlyList<string> specs, Action<string>? warn = null)
    {
        var modern = new List<NetdevRequest>();
        var legacy = new List<NetdevRequest>();
        foreach (var spec in specs)
        {
            Netdev netdev;
            bool modernSyntax;
            try
            {
                modernSyntax = NetdevSpecParser.IsModern(spec);
                netdev = NetdevSpecParser.Parse(spec, warn is null ? null : text => warn($"-netdev {spec}: warning: {text}"));
            }
            catch (QapiException e)
            {
                throw new CommandLineException($"-netdev {spec}: {e.Message}", e.Hint);
            }

            if (modernSyntax)
            {
                modern.Add(new NetdevRequest(spec, netdev, NetdevOrigin.CommandLineModern));
            }
            else
            {
                legacy.Add(new NetdevRequest(spec, netdev, NetdevOrigin.CommandLineLegacy));
            }
        }

        return [.. modern, .. legacy];
    }
}
