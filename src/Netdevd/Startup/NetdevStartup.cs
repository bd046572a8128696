using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;

namespace Netdevd.Startup;

/// <summary>
/// The one way every entry point (<c>netdevd</c>, <c>netdevd run</c>, the passt, pasta and
/// slirp4netns personalities) turns command-line netdevs into live ones: parse all of them
/// first (a bad one leaves nothing behind), then create them in QEMU's order, reporting the
/// first failure with QEMU's lines (the preceding report, then the error and its hint).
/// </summary>
internal static class NetdevStartup
{
    /// <summary>
    /// Parses <paramref name="specs"/>. Null with <paramref name="exitCode"/> set when the caller
    /// should exit: 0 after printing <c>-netdev help</c>, 1 after printing the error.
    /// </summary>
    public static IReadOnlyList<NetdevRequest>? Parse(IReadOnlyList<string> specs, out int exitCode)
    {
        exitCode = 0;
        try
        {
            return NetdevRequests.Parse(specs, static w => Console.Error.WriteLine($"netdevd: {w}"));
        }
        catch (NetdevHelpRequestedException)
        {
            Console.Out.Write(NetdevRequests.HelpText(BackendCatalog.Create()));
            return null;
        }
        catch (CommandLineException e)
        {
            Console.Error.WriteLine(e.Describe());
            exitCode = 1;
            return null;
        }
    }

    /// <summary>Creates each request in order; false after printing the first failure.</summary>
    public static async Task<bool> CreateAsync(NetdevRegistry registry, IReadOnlyList<NetdevRequest> requests, CancellationToken cancellationToken)
    {
        foreach (var request in requests)
        {
            try
            {
                await registry.AddAsync(request.Netdev, request.Origin, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (QapiException e)
            {
                if (e.PrecedingReport is { } report)
                {
                    await Console.Error.WriteLineAsync($"netdevd: -netdev {request.Spec}: {report}").ConfigureAwait(false);
                }

                await Console.Error.WriteLineAsync(new CommandLineException($"-netdev {request.Spec}: {e.Message}", e.Hint).Describe()).ConfigureAwait(false);
                return false;
            }
        }

        return true;
    }
}
