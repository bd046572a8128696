using System.Globalization;
using System.Net.Sockets;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Commands;

namespace Netdevd.Backends.Stream;

/// <summary>
/// Descriptors named in <c>addr.type=fd</c>: a decimal number the daemon inherited, or a name a
/// monitor registered with <c>getfd</c> (QEMU's monitor_fd_param / socket_get_fd).
/// </summary>
internal static class SocketFd
{
    /// <summary>
    /// At creation, in the monitor's context: a name is taken out of the monitor's store and
    /// replaced by its number (socket_address_parse_named_fd); numbers pass through.
    /// </summary>
    public static string Claim(string str, IMonitorFdStore? store)
    {
        ArgumentNullException.ThrowIfNull(str);
        if (store is null || (str.Length > 0 && char.IsAsciiDigit(str[0])))
        {
            // Refused at once, with nothing closed, rather than later in the info string.
            if (int.TryParse(str, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && !GrantedDescriptors.MayTake(number))
            {
                throw GrantedDescriptors.Refusal(number, str);
            }

            return str;
        }

        if (!store.TryTake(str, out var fd))
        {
            throw new SocketSetupException($"File descriptor named '{str}' has not been found");
        }

        // Received with getfd: ours to hand to the connect or listen that opens it.
        GrantedDescriptors.Grant(fd);
        return fd.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Parses the number strictly and wraps the descriptor, which must be a socket (it is closed otherwise, as QEMU does).</summary>
    public static Socket Open(string str)
    {
        if (!int.TryParse(str, NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
        {
            throw SocketSetupException.WithErrno($"Unable to parse FD number {str}", str.Length > 0 && char.IsAsciiDigit(str[0]) ? 34 : Errno.EINVAL);
        }

        // Taken once: a reconnect must not adopt whatever now has the number.
        bool owned;
        try
        {
            owned = GrantedDescriptors.Claim(fd, str);
        }
        catch (Qapi.Errors.QapiException e)
        {
            throw new SocketSetupException(e.Message);
        }

        if (Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, out _) != 0)
        {
            if (owned)
            {
                Libc.Close(fd);
            }

            throw new SocketSetupException($"File descriptor '{str}' is not a socket");
        }

        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }
}
