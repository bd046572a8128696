using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Protocol;

/// <summary>A request that passed QEMU's shape checks (qmp_dispatch_check_obj).</summary>
internal readonly record struct QmpRequest(string Command, QDict Arguments)
{
    /// <summary>
    /// Checks the members of a request object in order, with QEMU's texts. netdevd offers no
    /// OOB, so <c>exec-oob</c> is an unexpected member, as in a QEMU monitor without OOB enabled.
    /// </summary>
    public static QmpRequest Check(QDict request)
    {
        string? command = null;
        var arguments = new QDict();
        foreach (var (key, value) in request)
        {
            switch (key)
            {
                case "execute":
                    if (value is not QString s)
                    {
                        throw new QapiException("QMP input member 'execute' must be a string");
                    }

                    command = s.Value;
                    break;
                case "arguments":
                    arguments = value as QDict ?? throw new QapiException("QMP input member 'arguments' must be an object");
                    break;
                case "id":
                    break;
                default:
                    throw new QapiException($"QMP input member '{key}' is unexpected");
            }
        }

        return command is null
            ? throw new QapiException("QMP input lacks member 'execute'")
            : new QmpRequest(command, arguments);
    }
}
