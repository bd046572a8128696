using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// Iterates the options after an NDP message's fixed part. An option of length 0 or one running
/// past the message makes the whole message invalid (RFC 4861 4.6: "Nodes MUST silently discard
/// an ND packet that contains an option with length zero"): <see cref="IsMalformed"/> is then set
/// and iteration stops.
/// </summary>
public ref struct NdpOptionReader
{
    private readonly Span<byte> _options;
    private int _offset;

    public NdpOptionReader(Span<byte> options) => _options = options;

    public bool IsMalformed { get; private set; }

    /// <summary>The next option's type and whole bytes (type and length included).</summary>
    public bool TryNext(out byte type, out Span<byte> option)
    {
        type = 0;
        option = default;
        if (IsMalformed || _offset >= _options.Length)
        {
            return false;
        }

        if (_offset + 2 > _options.Length || _options[_offset + 1] == 0 || _offset + (_options[_offset + 1] * 8) > _options.Length)
        {
            IsMalformed = true;
            return false;
        }

        var length = _options[_offset + 1] * 8;
        type = _options[_offset];
        option = _options.Slice(_offset, length);
        _offset += length;
        return true;
    }

    /// <summary>Checks the whole list: false when any option is malformed.</summary>
    public static bool IsValid(Span<byte> options)
    {
        var reader = new NdpOptionReader(options);
        while (reader.TryNext(out _, out _))
        {
        }

        return !reader.IsMalformed;
    }

    /// <summary>The link-layer address in a source/target link-layer option of an Ethernet link (length 1).</summary>
    public static bool TryReadLinkLayerAddress(ReadOnlySpan<byte> option, out MacAddress mac)
    {
        mac = default;
        if (option.Length < NdpOption.LinkLayerAddressLength)
        {
            return false;
        }

        mac = MacAddress.Read(option[2..]);
        return true;
    }

    /// <summary>Finds the first option of <paramref name="type"/> with an Ethernet address; false if none or the list is malformed.</summary>
    public static bool TryFindLinkLayerAddress(Span<byte> options, byte type, out MacAddress mac)
    {
        mac = default;
        var reader = new NdpOptionReader(options);
        while (reader.TryNext(out var t, out var option))
        {
            if (t == type && TryReadLinkLayerAddress(option, out mac))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads a prefix information option (RFC 4861 4.6.2).</summary>
    public static bool TryReadPrefixInformation(ReadOnlySpan<byte> option, out NdpPrefixInformation info)
    {
        info = default;
        if (option.Length < NdpOption.PrefixInformationLength)
        {
            return false;
        }

        info = new NdpPrefixInformation(
            Ipv6Address.Read(option[16..]),
            option[2],
            (option[3] & 0x80) != 0,
            (option[3] & 0x40) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(option[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(option[8..]));
        return true;
    }
}
