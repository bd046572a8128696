using System.Collections.Immutable;
using System.Runtime.ExceptionServices;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Chardevs;

/// <summary>
/// The chardevs of one netdevd instance (QEMU's /chardevs container): created from the
/// command line or <c>chardev-add</c>, found by id by the netdevs that use them.
/// </summary>
/// <remarks>
/// Adds and removals are serialised by a gate, but for an add's wait on its far end (see
/// <see cref="IChardevFactory.WhenReadyAsync"/>): that one waits outside the gate with its id
/// reserved, so that other chardev commands go on meanwhile (QEMU blocks all of itself there).
/// The chardevs are an immutable list replaced as a whole under the gate: lookups and listings
/// read it without any lock and see a chardev only once it is ready.
/// </remarks>
public sealed class ChardevRegistry : IAsyncDisposable
{
    private readonly IChardevFactory? _factory;
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Adds waiting on their far end, by reserved id (under the gate): each task completes when its add has ended either way.
    private readonly Dictionary<string, Task> _pending = new(StringComparer.Ordinal);

    // Ends the adds' waits on their far ends when the registry closes (else closing waited for them).
    private readonly CancellationTokenSource _disposing = new();
    private bool _disposed;
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

    /// <remarks>
    /// The checks and <see cref="IChardevFactory.CreateAsync"/> run under the gate; a chardev
    /// that then waits on its far end waits outside it with its id reserved: a duplicate for
    /// other adds, while nothing else sees the chardev (chardev-remove finds no such chardev, a
    /// netdev's chardev= none, query-chardev lists none) until it is ready and enters the list
    /// under the gate. The wait ends with <paramref name="cancellationToken"/> (a QMP client that
    /// hung up) or with this registry's disposal; the chardev is closed then and the id freed.
    /// </remarks>
    private async Task<Chardev> AddAsync(string id, ChardevBackend backend, bool monitor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(backend);
        var prefix = monitor ? $"Failed to add chardev '{id}': " : string.Empty;
        Chardev chardev;
        Task ready;
        TaskCompletionSource pendingDone;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        await _gate.WaitAsync(ending.Token).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Find(id) is not null || _pending.ContainsKey(id))
            {
                throw new QapiException(monitor ? $"Chardev with id '{id}' already exists" : $"Duplicate ID '{id}' for chardev");
            }

            if (_factory is null || !_factory.Provides(backend.Type))
            {
                throw new QapiException(prefix + NotProvided(backend.Type));
            }

            try
            {
                chardev = await _factory.CreateAsync(id, backend, ending.Token).ConfigureAwait(false);
            }
            catch (ChardevException e)
            {
                throw new QapiException(prefix + e.Message, e);
            }

            try
            {
                ready = _factory.WhenReadyAsync(chardev, ending.Token).AsTask();
                if (ready.IsCompleted)
                {
                    // Ready at once (all but a server with wait and a client without reconnect): no reservation.
                    await ready.ConfigureAwait(false);
                    Volatile.Write(ref _chardevs, _chardevs.Add(chardev));
                    return chardev;
                }
            }
            catch (ChardevException e)
            {
                await chardev.DisposeAsync().ConfigureAwait(false);
                throw new QapiException(prefix + e.Message, e);
            }
            catch
            {
                await chardev.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            pendingDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending.Add(id, pendingDone.Task);
        }
        finally
        {
            _gate.Release();
        }

        try
        {
            return await FinishPendingAsync(id, chardev, ready, prefix).ConfigureAwait(false);
        }
        finally
        {
            pendingDone.SetResult();
        }
    }

    /// <summary>Waits outside the gate for a reserved add's chardev, then enters it into the list, or closes it and frees the id.</summary>
    private async Task<Chardev> FinishPendingAsync(string id, Chardev chardev, Task ready, string prefix)
    {
        var (published, failure) = await ReservedAdd.ResolveAsync(
            _gate,
            ready,
            tryPublish: () =>
            {
                if (_disposed)
                {
                    return false;
                }

                _pending.Remove(id);
                Volatile.Write(ref _chardevs, _chardevs.Add(chardev));
                return true;
            },
            close: chardev.DisposeAsync,
            freeId: () => _pending.Remove(id)).ConfigureAwait(false);
        if (published)
        {
            return chardev;
        }

        if (failure is ChardevException backendFailure)
        {
            throw new QapiException(prefix + backendFailure.Message, backendFailure);
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        throw new ObjectDisposedException(GetType().FullName);
    }

    /// <summary>
    /// QMP <c>chardev-remove</c>: unknown, then in use by a netdev, as QEMU checks. An id an add
    /// still waits for is unknown: that chardev does not exist yet (only the add's own caller can
    /// end its wait).
    /// </summary>
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
        Task[] pending;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            all = [.. _chardevs];
            Volatile.Write(ref _chardevs, []);
            pending = [.. _pending.Values];
        }
        finally
        {
            _gate.Release();
        }

        // Pending adds stop waiting on their far ends and close what they made; they take the
        // gate once more to drop their ids.
        await _disposing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
        foreach (var c in all)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
        _disposing.Dispose();
    }
}
