using System.Runtime.ExceptionServices;
using Netdevd.Native;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// Runs code on a thread of its own that has entered a test namespace (setns), so that what it
/// makes (an af-xdp netdev's sockets, a raw socket) belongs to that namespace; the rest of the
/// test process stays where it is.
/// </summary>
internal static class NamespaceThread
{
    public static T Run<T>(string namespacePath, Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var fd = Libc.Open(namespacePath, Libc.O_CLOEXEC);
                if (fd < 0)
                {
                    throw new IOException($"open {namespacePath}: {Errno.Message(Errno.Last)}");
                }

                try
                {
                    if (Libc.SetNs(fd, Libc.CLONE_NEWNET) != 0)
                    {
                        throw new IOException($"setns {namespacePath}: {Errno.Message(Errno.Last)}");
                    }
                }
                finally
                {
                    Libc.Close(fd);
                }

                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
