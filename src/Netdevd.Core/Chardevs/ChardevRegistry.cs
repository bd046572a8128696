using System.Collections.Immutable;
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

    // Ends an add's wait for its first client when the registry closes (else closing waited for it).
    private readonly CancellationTokenSource _disposing = new();
    private ImmutableList<Chardev> _chardevs = [];

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
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        await _gate.WaitAsync(ending.Token).ConfigureAwait(false);
        try
        {
            if (Find(id) is not null)
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
                chardev = await _factory.CreateAsync(id, backend, ending.Token).ConfigureAwait(false);
            }
            catch (ChardevException e)
            {
                throw new QapiException(prefix + e.Message, e);
            }

            Volatile.Write(ref _chardevs, _chardevs.Add(chardev));
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
            chardev = Find(id) ?? throw new QapiException($"Chardev '{id}' not found");
            if (chardev.IsBusy)
            {
                throw new QapiException($"Chardev '{id}' is busy");
            }

            Volatile.Write(ref _chardevs, _chardevs.Remove(chardev));
        }
        finally
        {
            _gate.Release();
        }

        await chardev.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>qemu_chr_find. Lock-free: safe from any thread, never waits for an add.</summary>
    public Chardev? Find(string id)
    {
        foreach (var c in Volatile.Read(ref _chardevs))
        {
            if (c.Id == id)
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>The chardevs, newest first, as query-chardev lists them (QEMU prepends each child). Lock-free.</summary>
    public IReadOnlyList<Chardev> Snapshot()
    {
        var list = new List<Chardev>(Volatile.Read(ref _chardevs));
        list.Reverse();
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        Chardev[] all;
        await _disposing.CancelAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            all = [.. _chardevs];
            Volatile.Write(ref _chardevs, []);
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
        _disposing.Dispose();
    }
}
