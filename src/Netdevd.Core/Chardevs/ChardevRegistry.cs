using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Chardevs;

/// <summary>
/// The chardevs of one netdevd instance (QEMU's /chardevs container): created from the
/// command line or <c>chardev-add</c>, found by id by the netdevs that use them.
/// </summary>
public sealed class ChardevRegistry : IAsyncDisposable
{
    private readonly IChardevFactory? _factory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Chardev> _chardevs = [];

    public ChardevRegistry(IChardevFactory? factory = null) => _factory = factory;

    /// <summary>Whether this build provides <paramref name="kind"/> (char_get_class).</summary>
    public bool Provides(ChardevBackendKind kind) => _factory?.Provides(kind) == true;

    /// <summary>QEMU's error for a kind this build lacks.</summary>
    public static string NotProvided(ChardevBackendKind kind) => $"'{kind.ToQapi()}' is not a valid char driver name";

    /// <summary>
    /// QMP <c>chardev-add</c> (qmp_chardev_add): a taken id first, then the kind, then the
    /// backend's own set-up, those two prefixed "Failed to add chardev 'ID': ".
    /// </summary>
    public Task<Chardev> AddFromMonitorAsync(string id, ChardevBackend backend, CancellationToken cancellationToken = default) =>
        AddAsync(id, backend, monitor: true, cancellationToken);

    /// <summary>
    /// <c>-chardev</c> (qemu_chr_new_from_opts): the kind was checked when the option was
    /// parsed; a taken id is QemuOpts' "Duplicate ID 'ID' for chardev".
    /// </summary>
    public Task<Chardev> AddFromCommandLineAsync(string id, ChardevBackend backend, CancellationToken cancellationToken = default) =>
        AddAsync(id, backend, monitor: false, cancellationToken);

    private async Task<Chardev> AddAsync(string id, ChardevBackend backend, bool monitor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(backend);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (FindLocked(id) is not null)
            {
                throw new QapiException(monitor ? $"Chardev with id '{id}' already exists" : $"Duplicate ID '{id}' for chardev");
            }

            var prefix = monitor ? $"Failed to add chardev '{id}': " : string.Empty;
            if (_factory is null || !_factory.Provides(backend.Type))
            {
                throw new QapiException(prefix + NotProvided(backend.Type));
            }

            Chardev chardev;
            try
            {
                chardev = await _factory.CreateAsync(id, backend, cancellationToken).ConfigureAwait(false);
            }
            catch (ChardevException e)
            {
                throw new QapiException(prefix + e.Message, e);
            }

            _chardevs.Add(chardev);
            return chardev;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>QMP <c>chardev-remove</c>: unknown, then in use by a netdev, as QEMU checks.</summary>
    public async Task RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        Chardev chardev;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            chardev = FindLocked(id) ?? throw new QapiException($"Chardev '{id}' not found");
            if (chardev.IsBusy)
            {
                throw new QapiException($"Chardev '{id}' is busy");
            }

            _chardevs.Remove(chardev);
        }
        finally
        {
            _gate.Release();
        }

        await chardev.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>qemu_chr_find.</summary>
    public Chardev? Find(string id)
    {
        _gate.Wait();
        try
        {
            return FindLocked(id);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The chardevs, newest first, as query-chardev lists them (QEMU prepends each child).</summary>
    public IReadOnlyList<Chardev> Snapshot()
    {
        _gate.Wait();
        try
        {
            var list = new List<Chardev>(_chardevs);
            list.Reverse();
            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Chardev[] all;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            all = [.. _chardevs];
            _chardevs.Clear();
        }
        finally
        {
            _gate.Release();
        }

        foreach (var c in all)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    private Chardev? FindLocked(string id)
    {
        foreach (var c in _chardevs)
        {
            if (c.Id == id)
            {
                return c;
            }
        }

        return null;
    }
}
