using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// ISC dhclient -6 asking for an address (stateful DHCPv6) on the rig's guest tap, with a script of
/// the test's own that reports each event and, like Debian's dhclient-script for BOUND6 and its
/// kin, puts the address on the interface; Debian's own would rewrite the resolver file the host
/// namespace shares. Disposing stops the dhclient it started, by its pid file.
/// </summary>
internal sealed class Dhclient6 : IAsyncDisposable
{
    private readonly string _pidFile;

    private Dhclient6(string pidFile, string report)
    {
        _pidFile = pidFile;
        Report = report;
    }

    /// <summary>The script's lines so far.</summary>
    public string Report { get; private set; }

    /// <summary>Runs dhclient until it reports a bound address (it stays behind to renew).</summary>
    public static async Task<Dhclient6> BindAsync(UserNetRig rig)
    {
        var dhclient = HostTools.Require("dhclient", "isc-dhcp-client");
        var report = Path.Combine(rig.Dir, "dhcp6-stateful.env");
        var script = Path.Combine(rig.Dir, "dhclient6-script");
        await File.WriteAllTextAsync(script, $$"""
            #!/bin/sh
            echo "reason=$reason address=$new_ip6_address/$new_ip6_prefixlen preferred=$new_preferred_life valid=$new_max_life dns=$new_dhcp6_name_servers" >> {{report}}
            case "$reason" in
            BOUND6|RENEW6|REBIND6|REBOOT6)
                [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" scope global valid_lft "$new_max_life" preferred_lft "$new_preferred_life"
                ;;
            esac
            exit 0
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var client = new Dhclient6(Path.Combine(rig.Dir, "dhclient6.pid"), "");
        try
        {
            var (status, output) = await rig.GuestAsync(
                $"{dhclient} -6 -1 -v -pf {client._pidFile} -lf {rig.Dir}/dhclient6-stateful.leases -sf {script} {rig.Tap}", TimeSpan.FromSeconds(60));
            Assert.True(status == 0, output);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(report) || !(client.Report = await File.ReadAllTextAsync(report)).Contains("reason=BOUND6", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"dhclient reported no BOUND6:\n{output}\n{client.Report}");
                await Task.Delay(100);
            }

            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(_pidFile) && int.TryParse((await File.ReadAllTextAsync(_pidFile)).Trim(), out var pid))
        {
            await Shell.RunAsync($"kill {pid}");
        }
    }
}
