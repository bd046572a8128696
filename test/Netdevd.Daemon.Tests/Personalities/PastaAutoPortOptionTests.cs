using Netdevd.Personalities;
using Netdevd.Personalities.Passt;
using Netdevd.Personalities.Pasta;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// -t/-u/-T/-U auto and the options' modes as passt 2025-01's conf_ports(): pasta takes auto and
/// makes it the default of every option not given; passt refuses it; modes that conflict are
/// refused with passt's texts.
/// </summary>
public sealed class PastaAutoPortOptionTests
{
    private static PastaOptions Pasta(params string[] args) => PastaCommandLine.Parse([.. args, "--netns", "/run/netns/n1"], out _)!;

    [Fact]
    public void Options_not_given_are_auto_as_pasta()
    {
        Assert.Equal(new AutoPorts(true, true, true, true), Pasta().Auto);

        // rootlesskit's implicit port driver: -t/-u auto, -T/-U not given.
        var rootlesskit = Pasta("--tcp-ports=auto", "--udp-ports=auto");
        Assert.Equal(new AutoPorts(true, true, true, true), rootlesskit.Auto);
        Assert.Empty(rootlesskit.Forwards);

        // podman: every option none.
        Assert.Equal(new AutoPorts(false, false, false, false), Pasta("-t", "none", "-u", "none", "-T", "none", "-U", "none").Auto);

        // Ports given for one option leave the others auto.
        var given = Pasta("-t", "8080", "-U", "53");
        Assert.Equal(new AutoPorts(false, true, true, false), given.Auto);
        Assert.Equal(["tcp::8080-:8080"], given.Forwards.Select(f => f.ToHostfwd()));
        Assert.Equal([53], given.NamespaceForwards.Select(f => f.HostPort));

        // Ports may still be given more than once; passt has no auto: nothing given, nothing forwarded.
        Assert.Equal(2, Pasta("-t", "80", "-t", "443").Forwards.Count);
        Assert.Equal(2, PasstCommandLine.Parse(["-t", "80", "-t", "443"], out _)!.Forwards.Count);
        Assert.Empty(PasstCommandLine.Parse([], out _)!.Forwards);
    }

    [Theory]
    [InlineData("pasta: Port forwarding mode 'auto' conflicts with previous mode", "-t", "auto", "-t", "auto")]
    [InlineData("pasta: Port forwarding mode 'auto' conflicts with previous mode", "-T", "80", "-T", "auto")]
    [InlineData("pasta: Port forwarding mode 'none' conflicts with previous mode", "-u", "auto", "-u", "none")]
    [InlineData("pasta: Port forwarding mode 'all' conflicts with previous mode", "-U", "auto", "-U", "all")]
    [InlineData("pasta: Specific ports cannot be specified together with all/none/auto", "-t", "auto", "-t", "80")]
    [InlineData("pasta: Specific ports cannot be specified together with all/none/auto", "-U", "none", "-U", "53")]
    [InlineData("pasta: 'all' port forwarding is only allowed for passt", "-t", "all")]
    [InlineData("pasta: 'all' port forwarding is only allowed for passt", "--udp-ns=all")]
    public void Pasta_refuses_conflicting_modes_and_all_with_its_texts(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => Pasta(args));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("passt: 'auto' port forwarding is only allowed for pasta", "-t", "auto")]
    [InlineData("passt: 'auto' port forwarding is only allowed for pasta", "--udp-ports=auto")]
    [InlineData("passt: Port forwarding mode 'none' conflicts with previous mode", "-t", "none", "-t", "none")]
    [InlineData("passt: Specific ports cannot be specified together with all/none/auto", "-u", "none", "-u", "53")]
    public void Passt_refuses_auto_and_conflicting_modes_with_its_texts(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => PasstCommandLine.Parse(args, out _));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_help_tells_the_default()
    {
        Assert.Contains("default: auto", PastaCommandLine.HelpText, StringComparison.Ordinal);
        Assert.Contains("auto", PastaCommandLine.HelpText, StringComparison.Ordinal);
    }
}
