using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// A user stack with a recording sink, a fake NAT host and a fake clock (and, when given, an ICMPv6
/// host), for tests that feed it guest frames and read what it emits; <see cref="Recreate"/> swaps
/// in a stack with other options.
/// </summary>
public abstract class NatStackHarness : IDisposable
{
    private readonly IIcmpv6Host? _icmp6;

    protected NatStackHarness()
        : this(new UserStackOptions())
    {
    }

    private protected NatStackHarness(UserStackOptions options, IIcmpv6Host? icmp6 = null)
    {
        _icmp6 = icmp6;
        Stack = Create(options);
    }

    internal ListSink Sink { get; } = new();

    internal FakeNatHost NatHost { get; } = new();

    internal FakeTimeProvider Time { get; } = new();

    internal UserStack Stack { get; private set; }

    /// <summary>Disposes the stack and makes a new one with <paramref name="options"/> on the same sink, host and clock.</summary>
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

    /// <summary>The TCP segment of an IPv4 frame the stack emitted, its checksum verified.</summary>
    internal static TcpPacket ParseTcp(byte[] frame) => ParseTcp(frame, out _);

    /// <summary>The TCP segment of an IPv4 frame the stack emitted, its checksum verified, and the datagram's source.</summary>
    internal static TcpPacket ParseTcp(byte[] frame, out Ipv4Address source)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var tcp));
        Assert.True(tcp.VerifyChecksum(ip.Source, ip.Destination));
        source = ip.Source;
        return tcp;
    }

    private UserStack Create(UserStackOptions options)
    {
        var stack = new UserStack(options, Sink, Time);
        stack.AttachHost(NatHost);
        if (_icmp6 is not null)
        {
            stack.AttachIcmpv6Host(_icmp6);
        }

        return stack;
    }
}
