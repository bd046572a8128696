using Netdevd.Core.Clients;
using System.Numerics;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The buffers of a <see cref="GuestOutputQueue"/>: power-of-two sizes from 2 KiB to 128 KiB, up to
/// <see cref="KeptPerSize"/> kept per size, the last one returned lent first (the one most likely
/// still in the cache). Taking one touches two arrays. ArrayPool's configurable pool, used before,
/// walks a bucket object and takes its spin lock per buffer: on an idle link, where every frame
/// finds that memory evicted, it cost a ping to the gateway more than building the reply did.
/// </summary>
/// <remarks>Not thread-safe: the queue calls it under its lock.</remarks>
internal sealed class FrameBufferPool
{
    /// <summary>How many buffers of each size wait for reuse; more returned than this are left to the GC.</summary>
    public const int KeptPerSize = 256;

    private const int SmallestShift = 11;
    private const int SizeCount = 7;

    private readonly byte[]?[][] _free = new byte[]?[SizeCount][];
    private readonly int[] _count = new int[SizeCount];

    /// <summary>The pool and its free lists (a frame's buffer is rented and returned through them).</summary>
    public void CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(_free);
        hot.Add(_count);
        foreach (var free in _free)
        {
            hot.Add(free);
        }
    }

    /// <summary>The largest buffer kept for reuse (larger requests get a buffer of their own).</summary>
    public const int LargestPooled = 1 << (SmallestShift + SizeCount - 1);

    /// <summary>A buffer of at least <paramref name="minimumLength"/> bytes (a power of two up to <see cref="LargestPooled"/>).</summary>
    public byte[] Rent(int minimumLength)
    {
        if (minimumLength > LargestPooled)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        var size = SizeIndex(minimumLength);
        var count = _count[size];
        if (count > 0)
        {
            // The slot keeps its reference (no store on the way out); the next Return overwrites it.
            _count[size] = count - 1;
            return _free[size][count - 1]!;
        }

        return GC.AllocateUninitializedArray<byte>(1 << (size + SmallestShift));
    }

    /// <summary>Takes back a buffer that <see cref="Rent"/> lent.</summary>
    public void Return(byte[] buffer)
    {
        var length = buffer.Length;
        if (length > LargestPooled || length < 1 << SmallestShift || !BitOperations.IsPow2(length))
        {
            return;
        }

        var size = SizeIndex(length);
        var count = _count[size];
        if (count == KeptPerSize)
        {
            return;
        }

        var slots = _free[size] ??= new byte[]?[KeptPerSize];
        slots[count] = buffer;
        _count[size] = count + 1;
    }

    private static int SizeIndex(int length) =>
        Math.Max(0, BitOperations.Log2((uint)Math.Max(length, 1) - 1) + 1 - SmallestShift);
}
