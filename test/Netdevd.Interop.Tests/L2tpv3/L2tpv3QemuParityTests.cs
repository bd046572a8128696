using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Cli;
using Netdevd.Core.Registry;
using Netdevd.Hosting;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>
/// The same l2tpv3 and vde options given to QEMU 7.2 and to netdevd are accepted or refused
/// alike, with the same text (QEMU's checks in QEMU's order).
/// </summary>
public sealed class L2tpv3QemuParityTests
{
    public static TheoryData<string> Specs => new()
    {
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,offset=257,rxcookie=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,rxcookie=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,txcookie=1,udp=on",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,dstport=1",
        "l2tpv3,id=a,src=::1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=nosuch,dstport=1",
        "l2tpv3,id=a,src=192.0.2.1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=nosuch",
        "l2tpv3,id=a,src=::1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=1,ipv6=on",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=1",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=0,dstport=1,offset=256,cookie64=off,rxcookie=1,txcookie=2,counter=on,pincounter=on",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=1",
        "l2tpv3,id=a,src=::1,dst=::1,txsession=1,ipv6=on,srcport=x",
        "l2tpv3,id=a,src=127.0.0.1,dst=127.0.0.1,txsession=0x10,udp=on,srcport=0,dstport=1,rxcookie=0xffffffffffffffff,txcookie=0x1,rxsession=4294967295",
        "vde,id=v,sock=/nonexistent/netdevd-vde",
        "vde,id=v,sock=/",
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public async Task Netdevd_accepts_and_refuses_like_QEMU(string spec)
    {
        var qemu = await QemuVerdictAsync(spec);
        var ours = await NetdevdVerdictAsync(spec);
        Assert.Equal(qemu, ours);
    }

    private static async Task<string> QemuVerdictAsync(string spec)
    {
        var (exitCode, stderr) = await QemuForwarder.ProbeNetdevsAsync([spec]);
        foreach (var line in stderr.Split('\n'))
        {
            const string prefix = "qemu-system-x86_64: -netdev ";
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].TrimEnd('\r');
            }
        }

        Assert.True(exitCode == 0, $"QEMU failed without a -netdev message: {stderr}");
        return "accepted";
    }

    private static async Task<string> NetdevdVerdictAsync(string spec)
    {
        await using var registry = new NetdevRegistry(BackendCatalog.Create(), new NoEvents(), NullLoggerFactory.Instance);
        try
        {
            var request = NetdevRequests.Parse([spec])[0];
            await registry.AddAsync(request.Netdev, request.Origin);
            return "accepted";
        }
        catch (CommandLineException e)
        {
            return e.Message.StartsWith("-netdev ", StringComparison.Ordinal) ? e.Message["-netdev ".Length..] : e.Message;
        }
        catch (QapiException e)
        {
            return $"{spec}: {e.Message}";
        }
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
