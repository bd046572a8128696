using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Parsing;

namespace Netdevd.Backends.Sockets;

/// <summary>
/// QEMU's monitor_fd_param: a descriptor given as a number, or (from a monitor) as a name passed
/// earlier with <c>getfd</c>. On the command line there is no monitor, so only numbers work.
/// Numbers are accepted only as <see cref="GrantedDescriptors"/> allows.
/// </summary>
public static class MonitorFdParam
{
    /// <summary>Returns the descriptor; a named one is taken out of the monitor's store (the caller now owns it).</summary>
    public static int Take(IMonitorFdStore? monitor, string fdname)
    {
        ArgumentNullException.ThrowIfNull(fdname);
        if ((fdname.Length == 0 || !char.IsAsciiDigit(fdname[0])) && monitor is not null)
        {
            return monitor.TryTake(fdname, out var named)
                ? named
                : throw new QapiException($"File descriptor named '{fdname}' has not been found");
        }

        // qemu_parse_fd: strtol base 10, all of it, 0..INT_MAX.
        var fd = CStrtol.StrToLL(fdname, 0, 10, out var end, out var overflow);
        if (overflow || end == 0 || end != fdname.Length || fd < 0 || fd > int.MaxValue)
        {
            throw new QapiException($"Invalid file descriptor number '{fdname}'");
        }

        // A number must have been given to netdevd on purpose: never adopt (or close) its own.
        _ = GrantedDescriptors.Claim((int)fd, fdname);
        return (int)fd;
    }
}
