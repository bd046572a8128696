using Microsoft.Win32.SafeHandles;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;

namespace Netdevd.Qmp.Session;

/// <summary>
/// The per-connection state that commands may touch (QEMU's Monitor as seen through
/// <c>monitor_cur()</c>): whether capabilities negotiation is complete, the descriptors that
/// arrived with the last message (SCM_RIGHTS), and the descriptors named with <c>getfd</c>.
/// It reaches command handlers as <see cref="QapiCommandContext.Fds"/>.
/// </summary>
internal sealed class QmpMonitor : IMonitorFdStore, IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<SafeFileHandle> _received = [];
    private readonly Dictionary<string, SafeFileHandle> _named = new(StringComparer.Ordinal);
    private volatile bool _negotiated;
    private bool _disposed;

    /// <summary>True once <c>qmp_capabilities</c> succeeded: all commands are available and events flow.</summary>
    public bool Negotiated
    {
        get => _negotiated;
        set => _negotiated = value;
    }

    /// <summary>
    /// Descriptors arrived with the bytes just read. As QEMU's socket chardev does, a new
    /// batch replaces (and closes) one that no <c>getfd</c> took.
    /// </summary>
    public void OnDescriptorsReceived(List<SafeFileHandle> batch)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                CloseAll(batch);
                return;
            }

            CloseAll(_received);
            _received.AddRange(batch);
        }
    }

    /// <summary><c>getfd</c>: names the first received descriptor; the others of its batch are closed.</summary>
    public void GetFd(string name)
    {
        SafeFileHandle fd;
        SafeFileHandle? replaced = null;
        lock (_lock)
        {
            if (_received.Count == 0)
            {
                throw new QapiException("No file descriptor supplied via SCM_RIGHTS");
            }

            fd = _received[0];
            _received.RemoveAt(0);
            CloseAll(_received);

            if (name.Length > 0 && char.IsAsciiDigit(name[0]))
            {
                fd.Dispose();
                throw QapiErrors.InvalidValue("fdname", "a name not starting with a digit");
            }

            // An existing name is rebound to the new descriptor; the old one is closed.
            _named.TryGetValue(name, out replaced);
            _named[name] = fd;
        }

        replaced?.Dispose();
    }

    /// <summary><c>closefd</c>.</summary>
    public void CloseFd(string name)
    {
        SafeFileHandle? fd;
        lock (_lock)
        {
            if (!_named.Remove(name, out fd))
            {
                throw new QapiException($"File descriptor named '{name}' not found");
            }
        }

        fd.Dispose();
    }

    /// <summary>Hands a named descriptor to a backend (QEMU's monitor_get_fd): it leaves the store and the caller owns it.</summary>
    public bool TryTake(string name, out int fd)
    {
        lock (_lock)
        {
            if (!_named.Remove(name, out var handle))
            {
                fd = -1;
                return false;
            }

            fd = (int)handle.DangerousGetHandle();

            // The number now belongs to the caller: forget it without closing.
            handle.SetHandleAsInvalid();
            return true;
        }
    }

    /// <summary>The names currently held (for tests and diagnostics).</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_lock)
            {
                return [.. _named.Keys];
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            CloseAll(_received);
            foreach (var fd in _named.Values)
            {
                fd.Dispose();
            }

            _named.Clear();
        }
    }

    private static void CloseAll(List<SafeFileHandle> fds)
    {
        foreach (var fd in fds)
        {
            fd.Dispose();
        }

        fds.Clear();
    }
}
