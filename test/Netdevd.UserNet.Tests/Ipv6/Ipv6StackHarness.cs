using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>A dual-stack UserStack with recording fakes for the host side.</summary>
public abstract class Ipv6StackHarness : NatStackHarness
{
    protected Ipv6StackHarness()
        : this(new FakeIcmpv6Host())
    {
    }

    private Ipv6StackHarness(FakeIcmpv6Host icmp6)
        : base(Options(), icmp6) => Icmp6 = icmp6;

    internal FakeIcmpv6Host Icmp6 { get; }

    internal static UserStackOptions Options() => new() { Ipv6Enabled = true, Ipv6DnsSearch = ["example.org", "corp.example"] };
}

internal sealed class FakeIcmpv6Host : IIcmpv6Host
{
    public List<(Icmpv6Flow Flow, byte[] Message)> Sent { get; } = [];

    public List<Icmpv6Flow> Closed { get; } = [];

    public bool Available { get; set; } = true;

    public bool Routable { get; set; } = true;

    public bool Open(Icmpv6Flow flow) => Available;

    /// <summary>The hop limit each request was to leave the host with.</summary>
    public List<byte> HopLimits { get; } = [];

    public bool Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp, byte hopLimit)
    {
        HopLimits.Add(hopLimit);
        Sent.Add((flow, icmp.ToArray()));
        return Routable;
    }

    public void Close(Icmpv6Flow flow) => Closed.Add(flow);
}
