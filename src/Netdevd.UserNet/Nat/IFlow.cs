namespace Netdevd.UserNet.Nat;

/// <summary>A flow of any protocol as the <see cref="FlowTable{TKey, TFlow}"/> sees it.</summary>
internal interface IFlow
{
    /// <summary>
    /// When the stack must look at the flow next (stack clock, ms; <see cref="long.MaxValue"/>:
    /// never): a TCP timer, or the idle expiry of a UDP or ICMP flow.
    /// </summary>
    long Deadline { get; }
}
