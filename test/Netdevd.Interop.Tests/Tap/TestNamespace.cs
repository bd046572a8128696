namespace Netdevd.Interop.Tests.Tap;

/// <summary>A network namespace of the test's own (nd-test-XXXX), always deleted with everything in it.</summary>
internal sealed class TestNamespace : IAsyncDisposable
{
    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public string Path => "/run/netns/" + Name;

    public static async Task<TestNamespace> CreateAsync()
    {
        var ns = new TestNamespace($"nd-test-{Environment.ProcessId % 10000:D4}{Random.Shared.Next(0x10000):x4}");
        await HostCommand.CheckAsync("ip", "netns", "add", ns.Name);
        await ns.CheckAsync("ip", "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A unique interface name (at most 15 bytes) for this test run.</summary>
    public static string InterfaceName(string prefix) => $"{prefix}{Random.Shared.Next(0x100000):x5}";

    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] command) =>
        HostCommand.RunAsync("ip", ["netns", "exec", Name, .. command]);

    public Task<string> CheckAsync(params string[] command) => HostCommand.CheckAsync("ip", ["netns", "exec", Name, .. command]);

    /// <summary>Moves a host interface in here and gives it an address, an MTU and the up state.</summary>
    public async Task AdoptAsync(string ifname, string cidr, int mtu)
    {
        await HostCommand.CheckAsync("ip", "link", "set", ifname, "netns", Name);
        await CheckAsync("ip", "link", "set", ifname, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "up");
        await CheckAsync("ip", "addr", "add", cidr, "dev", ifname);
    }

    public async ValueTask DisposeAsync() => await HostCommand.RunAsync("ip", "netns", "del", Name);
}
