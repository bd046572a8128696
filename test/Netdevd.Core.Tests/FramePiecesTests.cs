using Netdevd.Core.Clients;

namespace Netdevd.Core.Tests;

/// <summary>A frame in three pieces reads as the one frame they make, from any offset, into any room.</summary>
public sealed class FramePiecesTests
{
    private static readonly byte[] Joined = [.. Enumerable.Range(1, 12).Select(i => (byte)i)];

    // Every split of the 12 bytes into three pieces (empty ones included).
    public static TheoryData<int, int> Splits()
    {
        var data = new TheoryData<int, int>();
        for (var a = 0; a <= Joined.Length; a++)
        {
            for (var b = a; b <= Joined.Length; b++)
            {
                data.Add(a, b);
            }
        }

        return data;
    }

    private static FramePieces Split(int a, int b) => new(Joined.AsSpan(0, a), Joined.AsSpan(a, b - a), Joined.AsSpan(b));

    [Theory]
    [MemberData(nameof(Splits))]
    public void Copying_from_any_offset_into_any_room_gives_the_joined_bytes(int a, int b)
    {
        Assert.Equal(Joined.Length, Split(a, b).Length);
        for (var offset = 0; offset <= Joined.Length; offset++)
        {
            for (var room = 0; room <= Joined.Length + 1; room++)
            {
                var destination = new byte[room];
                var n = Split(a, b).CopyTo(offset, destination);
                var expected = Joined.AsSpan(offset, Math.Min(room, Joined.Length - offset)).ToArray();
                Assert.Equal(expected.Length, n);
                Assert.Equal(expected, destination.AsSpan(0, n).ToArray());
                Assert.All(destination.AsSpan(n).ToArray(), x => Assert.Equal(0, x));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Splits))]
    public void A_slice_from_any_start_is_the_rest_of_the_frame(int a, int b)
    {
        for (var start = 0; start <= Joined.Length + 2; start++)
        {
            var rest = Split(a, b).Slice(start);
            var copy = new byte[rest.Length];
            rest.CopyTo(copy);
            Assert.Equal(Joined.AsSpan(Math.Min(start, Joined.Length)).ToArray(), copy);
        }
    }

    [Fact]
    public void Copying_the_whole_frame_into_too_little_room_is_refused()
    {
        var pieces = new byte[11];
        Assert.Throws<ArgumentOutOfRangeException>(() => Split(4, 8).CopyTo(pieces));
        Assert.Throws<ArgumentOutOfRangeException>(() => Split(4, 8).Slice(-1));
    }
}
