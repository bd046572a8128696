namespace Netdevd.Native;

/// <summary>
/// The control messages (ancillary data) a recvmsg returned, walked as the kernel lays them out
/// on LP64: struct cmsghdr (size_t cmsg_len; int cmsg_level; int cmsg_type), then the data, each
/// message 8-aligned. A message whose length is shorter than its header or runs past what was
/// read ends the walk: nothing beyond it is trusted.
/// </summary>
internal unsafe ref struct ControlMessages(byte* control, int length)
{
    /// <summary>sizeof(struct cmsghdr): where a message's data starts.</summary>
    public const int HeaderSize = 16;

    private int _offset;

    /// <summary>The current message's cmsg_level.</summary>
    public int Level { get; private set; }

    /// <summary>The current message's cmsg_type.</summary>
    public int Type { get; private set; }

    /// <summary>The current message's data.</summary>
    public byte* Data { get; private set; }

    /// <summary>How many bytes of data the current message has (cmsg_len less the header).</summary>
    public int DataLength { get; private set; }

    /// <summary>Steps to the next whole message; false when there is none.</summary>
    public bool MoveNext()
    {
        if (_offset + HeaderSize > length)
        {
            return false;
        }

        var messageLength = (int)*(nuint*)(control + _offset);
        if (messageLength < HeaderSize || _offset + messageLength > length)
        {
            return false;
        }

        Level = *(int*)(control + _offset + 8);
        Type = *(int*)(control + _offset + 12);
        Data = control + _offset + HeaderSize;
        DataLength = messageLength - HeaderSize;
        _offset += (messageLength + 7) & ~7;
        return true;
    }
}
