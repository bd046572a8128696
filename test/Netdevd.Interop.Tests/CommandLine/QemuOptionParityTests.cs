using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;

namespace Netdevd.Interop.Tests.CommandLine;

/// <summary>
/// The same -netdev arguments given to QEMU 7.2 and to netdevd are accepted or refused the
/// same way, with the same text, for the types both provide.
/// </summary>
public sealed class QemuOptionParityTests
{
    public static TheoryData<string[]> Specs => new()
    {
        { ["hubport,id=h0,hubid=0"] },
        { ["type=hubport,id=h0,hubid=-7"] },
        { ["hubport,id=h0,hubid=0,netdev=ghost"] },
        { ["hubport,id=a,hubid=0", "hubport,id=b,hubid=1,netdev=a"] },
        { ["hubport,id=a,hubid=0", "hubport,id=a,hubid=1"] },
        { ["hubport,id=a"] },
        { ["hubport,hubid=0"] },
        { ["hubport,id=1a,hubid=0"] },
        { ["hubport,id=a,hubid=x"] },
        { ["hubport,id=a,hubid=0,foo=1"] },
        { ["hubport,id=a,hubid=99999999999"] },
        { ["hubport,id=a,hubid=2147483648"] },
        { ["hubport,id=a,hubid=0x10"] },
        { ["bogus,id=x"] },
        { ["nic,id=n"] },
        { ["none,id=n"] },
        { ["{\"type\":\"hubport\",\"id\":\"j\",\"hubid\":0}"] },
        { ["{\"type\":\"hubport\",\"id\":\"j\",\"hubid\":\"0\"}"] },
        { ["{\"type\":\"hubport\",\"id\":\"j\"}"] },
        { ["{\"type\":\"hubport\",\"id\":\"j\",\"hubid\":0,\"x\":1}"] },
        { ["{\"type\":\"hubport\",\"id\":\"j\",\"hubid\":0"] },
        { ["{'type':'hubport','id':'j','hubid':1}"] },
        { ["stream,id=s"] },
        { ["stream,id=s,addr.type=inet"] },
        { ["stream,id=s,addr.type=inet,addr.host=127.0.0.1"] },
        { ["stream,id=s,addr.type=bogus"] },
        { ["stream,id=s,server=maybe,addr.type=unix,addr.path=/nonexistent/x"] },
        { ["dgram,id=d"] },
        { ["socket,id=s"] },
        { ["socket,id=s,localaddr=127.0.0.1:1"] },
        { ["socket,id=s,udp=127.0.0.1:1"] },
        { ["socket,id=s,listen=127.0.0.1:x"] },
        { ["socket,id=s,connect=nocolon"] },
        { ["user,id=u,guestfwd=tcp:10.0.2.100:7000-tcp:127.0.0.1:1"] },
        { ["user,id=u,guestfwd=tcp:10.0.2.100:7000-unix:/nonexistent/netdevd-test.sock"] },
        { ["user,id=u,guestfwd=udp:10.0.2.100:7000-tcp:127.0.0.1:1"] },
        // [08]: vhost-vdpa is built into a Linux QEMU, netmap is not, vmnet is macOS only.
        { ["vhost-vdpa,id=v"] },
        { ["vhost-vdpa,id=v,vhostdev=/nonexistent/vhost-vdpa-0"] },
        { ["vhost-vdpa,id=v,vhostdev=/dev/null"] },
        { ["vhost-vdpa,id=v,vhostdev=/dev/null,vhostfd=3"] },
        { ["netmap,id=n,ifname=vale0:1"] },
        { ["vmnet-shared,id=v"] },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public async Task Netdevd_accepts_and_refuses_like_QEMU(string[] specs)
    {
        var qemu = await QemuVerdictAsync(specs);
        var ours = await NetdevdVerdictAsync(specs);

        Assert.Equal(qemu, ours);
    }

    /// <summary>QEMU's first "-netdev SPEC: message" line, or "accepted".</summary>
    private static async Task<string> QemuVerdictAsync(string[] specs)
    {
        var (exitCode, stderr) = await QemuForwarder.ProbeNetdevsAsync(specs);
        foreach (var line in stderr.Split('\n'))
        {
            const string prefix = "qemu-system-x86_64: -netdev ";
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return "-netdev " + line[prefix.Length..].TrimEnd('\r');
            }
        }

        Assert.True(exitCode == 0, $"QEMU failed without a -netdev message: {stderr}");
        return "accepted";
    }

    private static async Task<string> NetdevdVerdictAsync(string[] specs)
    {
        IReadOnlyList<NetdevRequest> requests;
        try
        {
            requests = NetdevRequests.Parse(specs);
        }
        catch (CommandLineException e)
        {
            return e.Message;
        }

        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NoEvents(), NullLoggerFactory.Instance);
        foreach (var r in requests)
        {
            try
            {
                await registry.AddAsync(r.Netdev, r.Origin);
            }
            catch (QapiException e)
            {
                // The first line each prints: QEMU's error_report of the cause comes before the error.
                return $"-netdev {r.Spec}: {e.PrecedingReport ?? e.Message}";
            }
        }

        return "accepted";
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
