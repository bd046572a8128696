namespace Netdevd.UserNet;

/// <summary>
/// The rate limit on the ICMP and ICMPv6 errors the stack sends the guest (RFC 1812 4.3.2.8,
/// RFC 4443 2.4 (f)): at most <see cref="PerSecond"/> in each second of the stack's clock, so a
/// guest that keeps sending what the host refuses cannot turn each of its frames into an answer.
/// One per family.
/// </summary>
internal sealed class IcmpErrorLimit
{
    public const int PerSecond = 100;

    private long _windowMs = -1;
    private int _inWindow;

    /// <summary>Whether one more error may go at <paramref name="nowMs"/> (and counts it).</summary>
    public bool TryTake(long nowMs)
    {
        if (_windowMs < 0 || nowMs - _windowMs >= 1000)
        {
            _windowMs = nowMs;
            _inWindow = 0;
        }

        return ++_inWindow <= PerSecond;
    }
}
