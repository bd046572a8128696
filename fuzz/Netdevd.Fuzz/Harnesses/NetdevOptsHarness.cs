using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// A <c>-netdev</c> argument as the command line gives it: QEMU's choice between the legacy
/// QemuOpts syntax (opts visitor) and the modern keyval/JSON one, then the backend's own
/// option checks. Only QAPI errors (and a help request) may come out.
/// </summary>
public static class NetdevOptsHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var spec = Encoding.UTF8.GetString(input);
        try
        {
            var netdev = NetdevSpecParser.Parse(spec, static _ => { });
            NetdevSemantics.Check(netdev);
        }
        catch (QapiException)
        {
        }
        catch (NetdevHelpRequestedException)
        {
        }
    }
}
