using Microsoft.Extensions.Logging;
using Netdevd.Core.Chardevs;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Parsing;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Registry;

/// <summary>
/// The netdevs of one netdevd instance (QEMU's net_clients list, as an instance so that tests
/// and embedders can run many side by side). Creation, deletion and link changes are
/// serialised, but for a creation's wait on its far end (see <see cref="AddAsync"/>); the data
/// path never takes this registry's lock.
/// </summary>
/// <remarks>
/// The netdevs are an immutable <see cref="NetdevTable"/> replaced as a whole under the gate,
/// so lookups and listings (QMP handlers, factories) read it without any lock and always see
/// one consistent state: a netdev is either fully in it or not at all.
/// </remarks>
public sealed class NetdevRegistry : IAsyncDisposable
{
    private readonly Dictionary<NetClientDriver, INetdevFactory> _factories = [];
    private NetdevTable _netdevs = NetdevTable.Empty;
    private readonly HashSet<string> _legacyIds = new(StringComparer.Ordinal);
    private readonly List<NicClient> _nics = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Adds waiting on their far end, by reserved id (under the gate), and what ends their waits.
    private readonly Dictionary<string, PendingAdd> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private bool _disposed;
    private readonly IQapiEventSink _events;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _clientLogger;
    private readonly TimeProvider _time;

    public NetdevRegistry(
        IEnumerable<INetdevFactory> factories,
        IQapiEventSink events,
        ILoggerFactory loggers,
        TimeProvider? time = null,
        IChardevFactory? chardevs = null)
    {
        ArgumentNullException.ThrowIfNull(factories);
        foreach (var f in factories)
        {
            _factories[f.Driver] = f;
        }

        _events = events;
        _loggers = loggers;
        _clientLogger = loggers.CreateLogger<NetClient>();
        _time = time ?? TimeProvider.System;
        Chardevs = new ChardevRegistry(chardevs);
    }

    public HubRegistry Hubs { get; } = new();

    /// <summary>The chardevs netdevs such as vhost-user connect through (QEMU's /chardevs).</summary>
    public ChardevRegistry Chardevs { get; }

    /// <summary>The netdev types this build can create, in schema order.</summary>
    public IEnumerable<NetClientDriver> AvailableDrivers
    {
        get
        {
            foreach (var d in Enum.GetValues<NetClientDriver>())
            {
                if (_factories.ContainsKey(d))
                {
                    yield return d;
                }
            }
        }
    }

    /// <summary>Creates a netdev with QEMU's checks in QEMU's order (net_client_init1).</summary>
    /// <remarks>
    /// The checks and <see cref="INetdevFactory.CreateAsync"/> run under the gate. A netdev that
    /// then waits on its far end (<see cref="INetdevFactory.WhenReadyAsync"/>, a vhost-user
    /// back-end that may never come) waits outside it with its id reserved: other monitors'
    /// commands go on meanwhile (QEMU blocks its whole monitor there). The reserved id is a
    /// duplicate for other adds but nothing else sees the netdev until it is ready and enters the
    /// table under the gate: netdev_del, set_link, a hubport's netdev= and NIC attach find no such
    /// netdev, as QEMU's monitor would for an id not created yet, and listings never show a
    /// half-made one. The wait ends with <paramref name="cancellationToken"/> or with this
    /// registry's disposal; the client is closed then (releasing its chardev) and the id freed.
    /// </remarks>
    public async Task<NetClient> AddAsync(Netdev netdev, NetdevOrigin origin, IMonitorFdStore? monitorFds = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(netdev);
        if (origin == NetdevOrigin.Monitor && !QemuId.IsWellFormed(netdev.Id))
        {
            throw QapiErrors.InvalidValue("id", "an identifier");
        }

        if (!_factories.TryGetValue(netdev.Type, out var factory))
        {
            throw new QapiException($"network backend '{netdev.Type.ToQapi()}' is not compiled into this binary");
        }

        NetClient client;
        Task ready;
        TaskCompletionSource pendingDone;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (FindEntry(netdev.Id) is not null || _pending.ContainsKey(netdev.Id))
            {
                var legacyTwin = origin == NetdevOrigin.CommandLineLegacy
                    && (_legacyIds.Contains(netdev.Id) || (_pending.TryGetValue(netdev.Id, out var twin) && twin.Origin == NetdevOrigin.CommandLineLegacy));
                throw new QapiException(legacyTwin ? $"Duplicate ID '{netdev.Id}' for netdev" : $"Duplicate ID '{netdev.Id}'");
            }

            var context = new NetdevContext(this, Hubs, _events, _loggers, _time, monitorFds, ending.Token);
            client = await factory.CreateAsync(netdev, context).ConfigureAwait(false);
            client.FaultLogger = _clientLogger;
            try
            {
                ready = factory.WhenReadyAsync(client, context).AsTask();
                if (ready.IsCompleted)
                {
                    // Ready at once (every netdev but one whose far end is not there yet): no reservation.
                    await ready.ConfigureAwait(false);
                    Publish(netdev, origin, client);
                    return client;
                }
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            pendingDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending.Add(netdev.Id, new PendingAdd(origin, pendingDone.Task));
        }
        finally
        {
            _gate.Release();
        }

        try
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

                    _pending.Remove(netdev.Id);
                    Publish(netdev, origin, client);
                    return true;
                },
                close: client.DisposeAsync,
                freeId: () => _pending.Remove(netdev.Id)).ConfigureAwait(false);
            if (published)
            {
                return client;
            }

            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            throw new ObjectDisposedException(GetType().FullName);
        }
        finally
        {
            pendingDone.SetResult();
        }
    }

    /// <summary>Enters a ready netdev into the table; under the gate.</summary>
    private void Publish(Netdev netdev, NetdevOrigin origin, NetClient client)
    {
        Volatile.Write(ref _netdevs, _netdevs.Add(new NetdevEntry(netdev.Id, netdev, client)));
        if (origin == NetdevOrigin.CommandLineLegacy)
        {
            _legacyIds.Add(netdev.Id);
        }
    }

    /// <summary>
    /// QMP <c>netdev_del</c>: closes the netdev; its peer just loses its peer. One step under the
    /// gate, as in QEMU: no netdev is added (say, another monitor's with the same id, port or
    /// socket path) while this one still holds what it is releasing.
    /// </summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var entry = FindEntry(id) ?? throw QapiErrors.DeviceNotFound(id);
            Volatile.Write(ref _netdevs, _netdevs.Remove(entry));
            _legacyIds.Remove(id);
            if (entry.Client.Peer is NicClient nic)
            {
                // As QEMU: the NIC stays, its link goes down.
                nic.SetLinkUp(false);
            }

            await entry.Client.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>QMP <c>set_link</c>: every client with that name; a NIC peer follows its netdev.</summary>
    public void SetLink(string name, bool up)
    {
        _gate.Wait();
        try
        {
            var matches = new List<NetClient>();
            if (FindEntry(name) is { } entry)
            {
                matches.Add(entry.Client);
            }

            foreach (var nic in _nics)
            {
                if (nic.Name == name)
                {
                    matches.Add(nic);
                }
            }

            if (matches.Count == 0)
            {
                throw QapiErrors.DeviceNotFound(name);
            }

            foreach (var c in matches)
            {
                c.SetLinkUp(up);
            }

            if (matches[0].Peer is NicClient peerNic)
            {
                peerNic.SetLinkUp(up);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Plugs an embedder's NIC into netdev <paramref name="netdevId"/> (QEMU's -device ...,netdev=ID).</summary>
    public void AttachNic(string netdevId, NicClient nic)
    {
        ArgumentNullException.ThrowIfNull(nic);
        _gate.Wait();
        try
        {
            var entry = FindEntry(netdevId) ?? throw new QapiException($"Property '{nic.Name}.netdev' can't find value '{netdevId}'");
            if (entry.Client.Peer is not null)
            {
                throw new QapiException($"Property '{nic.Name}.netdev' can't take value '{netdevId}', it's in use");
            }

            nic.FaultLogger = _clientLogger;
            NetClient.Connect(entry.Client, nic);
            _nics.Add(nic);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Unplugs a NIC (device_del).</summary>
    public async Task DetachNicAsync(NicClient nic)
    {
        ArgumentNullException.ThrowIfNull(nic);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _nics.Remove(nic);
        }
        finally
        {
            _gate.Release();
        }

        await nic.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The netdev named <paramref name="id"/>, or null. Lock-free: safe from any thread.</summary>
    public NetdevEntry? Find(string id) => FindEntry(id);

    /// <summary>The netdevs in creation order (QEMU's net_clients order), as of now; later changes do not show in it.</summary>
    public IReadOnlyList<NetdevEntry> Snapshot() => Volatile.Read(ref _netdevs).InOrder;

    public async ValueTask DisposeAsync()
    {
        List<NetdevEntry> all;
        List<Task> pending;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            all = [.. _netdevs.InOrder];
            Volatile.Write(ref _netdevs, NetdevTable.Empty);
            _legacyIds.Clear();
            pending = [.. _pending.Values.Select(p => p.Done)];
        }
        finally
        {
            _gate.Release();
        }

        // Pending adds stop waiting on their far ends and close what they made (their chardev
        // claims too) before the chardevs go; they take the gate once more to drop their ids.
        await _disposing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);

        // Newest first, so dependants go before what they depend on.
        for (var i = all.Count - 1; i >= 0; i--)
        {
            await all[i].Client.DisposeAsync().ConfigureAwait(false);
        }

        // After the netdevs: they release the chardevs they hold as they close.
        await Chardevs.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
        _disposing.Dispose();
    }

    private NetdevEntry? FindEntry(string id) => Volatile.Read(ref _netdevs).Find(id);

    /// <summary>An id reserved by an add waiting on its far end; <paramref name="Done"/> completes when the add has ended either way.</summary>
    private sealed record PendingAdd(NetdevOrigin Origin, Task Done);
}
