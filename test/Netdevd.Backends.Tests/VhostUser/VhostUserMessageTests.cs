using System.Buffers.Binary;
using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.Tests.VhostUser;

public sealed class VhostUserMessageTests
{
    private static byte[] Message(uint request, uint flags, uint size, int actualPayload)
    {
        var bytes = new byte[12 + actualPayload];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, request);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), size);
        return bytes;
    }

    [Fact]
    public void A_whole_message_parses_with_exactly_its_payload()
    {
        var bytes = Message((uint)VhostUserRequest.SetFeatures, 1 | VhostUserHeader.NeedReplyFlag, 8, 8 + 5);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(12), 0x1_0000_8000);
        Assert.Equal(VhostUserParseStatus.Complete, VhostUserMessage.TryParse(bytes, out var message, out var length));
        Assert.Equal(20, length);
        Assert.Equal(VhostUserRequest.SetFeatures, message.Request);
        Assert.True(message.Header.NeedsReply);
        Assert.True(VhostUserU64.TryRead(message.Payload, out var features));
        Assert.Equal(0x1_0000_8000UL, features);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void A_short_header_is_truncated(int length) =>
        Assert.Equal(VhostUserParseStatus.Truncated, VhostUserMessage.TryParse(new byte[length], out _, out _));

    [Fact]
    public void A_payload_shorter_than_its_size_is_truncated() =>
        Assert.Equal(VhostUserParseStatus.Truncated, VhostUserMessage.TryParse(Message(1, 1, 40, 39), out _, out _));

    [Theory]
    [InlineData(4097u)]
    [InlineData(uint.MaxValue)]
    public void An_oversized_payload_is_refused_before_reading(uint size) =>
        Assert.Equal(VhostUserParseStatus.Oversized, VhostUserMessage.TryParse(Message(5, 1, size, 0), out _, out _));

    [Theory]
    [InlineData(0u)]
    [InlineData(2u)]
    [InlineData(3u)]
    public void A_wrong_version_is_refused(uint flags) =>
        Assert.Equal(VhostUserParseStatus.BadVersion, VhostUserMessage.TryParse(Message(1, flags, 0, 0), out _, out _));

    [Theory]
    [InlineData(7)]
    [InlineData(9)]
    public void Fixed_size_payloads_must_have_their_size(int length)
    {
        Assert.False(VhostUserU64.TryRead(new byte[length], out _));
        Assert.False(VringState.TryRead(new byte[length], out _));
        Assert.False(VringAddress.TryRead(new byte[length + 32], out _));
    }

    [Fact]
    public void Vring_file_refuses_bits_beyond_index_and_no_fd_flag()
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, 0x103);
        Assert.True(VringFile.TryRead(payload, out var file));
        Assert.Equal(3u, file.Index);
        Assert.True(file.NoDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(payload, 0x203);
        Assert.False(VringFile.TryRead(payload, out _));
    }

    [Fact]
    public void Vring_address_round_trips()
    {
        var address = new VringAddress(1, 0, 0x1000, 0x3000, 0x2000, 0);
        var bytes = new byte[VringAddress.Size];
        address.Write(bytes);
        Assert.True(VringAddress.TryRead(bytes, out var read));
        Assert.Equal(address, read);
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(9, 8 + (9 * 32))]
    [InlineData(2, 8 + 32)]
    [InlineData(1, 7)]
    public void Memory_tables_with_no_regions_too_many_or_missing_bytes_are_refused(int count, int length)
    {
        var payload = new byte[length];
        if (length >= 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)count);
        }

        Assert.False(MemoryTablePayload.TryRead(payload, out _));
    }

    [Fact]
    public void A_memory_table_round_trips()
    {
        MemoryRegionDescription[] regions = [new(0, 0x100000, 0x7f00000000, 0), new(0x100000000, 0x1000, 0x7f10000000, 0x2000)];
        var payload = new byte[8 + (2 * 32)];
        Assert.Equal(payload.Length, MemoryTablePayload.Write(payload, regions));
        Assert.True(MemoryTablePayload.TryRead(payload, out var table));
        Assert.Equal(2, table.Count);
        Assert.Equal(regions[1], table[1]);
    }

    [Theory]
    [InlineData(0u, 0u, true)]
    [InlineData(0u, 256u, true)]
    [InlineData(255u, 2u, false)]
    [InlineData(257u, 0u, false)]
    [InlineData(0u, 257u, false)]
    public void Config_beyond_256_bytes_is_refused(uint offset, uint size, bool accepted)
    {
        var payload = new byte[12 + size];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), size);
        Assert.Equal(accepted, ConfigPayload.TryRead(payload, out _));
    }
}
