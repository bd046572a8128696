namespace Netdevd.UserNet.Forwarding;

/// <summary>An active host forward as <c>query-hostfwd</c> reports it (the host port is the bound one, also for port 0).</summary>
public sealed record HostForwardInfo(string Rule, string Protocol, string HostAddress, int HostPort, string GuestAddress, int GuestPort);
