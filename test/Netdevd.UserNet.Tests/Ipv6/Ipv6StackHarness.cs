using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>A dual-stack UserStack with recording fakes for the host side.</summary>
public abstract class Ipv6StackHarness : IDisposable
{
    internal ListSink Sink { get; } = new();

    internal FakeNatHost NatHost { get; } = new();

    internal FakeIcmpv6Host Icmp6 { get; } = new();

    internal FakeTimeProvider Time { get; } = new();

    internal UserStack Stack { get; private set; }

    protected Ipv6StackHarness() => Stack = Create(Options());

    internal static UserStackOptions Options() => new() { Ipv6Enabled = true, Ipv6DnsSearch = ["example.org", "corp.example"] };

    internal UserStack Create(UserStackOptions options)
    {
        var stack = new UserStack(options, Sink, Time);
        stack.AttachHost(NatHost);
        stack.AttachIcmpv6Host(Icmp6);
        return stack;
    }

    internal void Recreate(UserStackOptions options)
    {
        Stack.Dispose();
        Stack = Create(options);
    }

    public void Dispose()
    {
        Stack.Dispose();
        GC.SuppressFinalize(this);
    }
}

internal sealed class FakeIcmpv6Host : IIcmpv6Host
{
    public List<(Icmpv6Flow Flow, byte[] Message)> Sent { get; } = [];

    public List<Icmpv6Flow> Closed { get; } = [];

    public bool Available { get; set; } = true;

    public bool Routable { get; set; } = true;

    public bool Open(Icmpv6Flow flow) => Available;

    public bool Send(Icmpv6Flow flow, ReadOnlySpan<byte> icmp)
    {
        Sent.Add((flow, icmp.ToArray()));
        return Routable;
    }

    public void Close(Icmpv6Flow flow) => Closed.Add(flow);
}
