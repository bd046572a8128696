using Netdevd.Wire;

namespace Netdevd.UserNet.Config;

/// <summary>
/// glibc's inet_aton, which QEMU uses for every IPv4 option: one to four parts, each a C
/// number in base 0 (0x.. hex, 0.. octal), the last part filling the remaining bytes
/// ("10.2" is 10.0.0.2, "167772674" is 10.0.2.2); text after white space is ignored.
/// </summary>
public static class InetAton
{
    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        Span<ulong> parts = stackalloc ulong[4];
        var count = 0;
        var i = 0;
        while (true)
        {
            if (i >= text.Length || !char.IsAsciiDigit(text[i]))
            {
                return false;
            }

            ulong value = 0;
            var radix = 10;
            if (text[i] == '0')
            {
                radix = 8;
                i++;
                if (i < text.Length && text[i] is 'x' or 'X')
                {
                    radix = 16;
                    i++;
                }
            }

            while (i < text.Length && DigitValue(text[i]) is var d && d >= 0 && d < radix)
            {
                value = (value * (ulong)radix) + (ulong)d;
                if (value > uint.MaxValue)
                {
                    return false;
                }

                i++;
            }

            if (count == 4)
            {
                return false;
            }

            parts[count++] = value;
            if (i < text.Length && text[i] == '.')
            {
                i++;
                continue;
            }

            break;
        }

        if (i < text.Length && !char.IsWhiteSpace(text[i]))
        {
            return false;
        }

        uint result;
        switch (count)
        {
            case 1:
                result = (uint)parts[0];
                break;
            case 2:
                if (parts[0] > 0xFF || parts[1] > 0xFF_FFFF)
                {
                    return false;
                }

                result = (uint)((parts[0] << 24) | parts[1]);
                break;
            case 3:
                if (parts[0] > 0xFF || parts[1] > 0xFF || parts[2] > 0xFFFF)
                {
                    return false;
                }

                result = (uint)((parts[0] << 24) | (parts[1] << 16) | parts[2]);
                break;
            default:
                if (parts[0] > 0xFF || parts[1] > 0xFF || parts[2] > 0xFF || parts[3] > 0xFF)
                {
                    return false;
                }

                result = (uint)((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]);
                break;
        }

        address = new Ipv4Address(result);
        return true;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
