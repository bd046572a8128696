using Netdevd.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Io;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Backends.VirtioNet;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// One front-end connection, served on the netdev's control thread: every request of the
/// vhost-user protocol a virtio-net front-end sends, the memory table, the vrings and their queue
/// pairs' workers. Anything malformed or out of range (a payload of the wrong size, a queue index
/// past the queues offered, features not offered, a memory table that cannot be mapped, a ring
/// outside it, a request not offered) is refused: a REPLY_ACK failure when one was asked for,
/// then the connection is closed. <see cref="Dispose"/> stops the workers, the rings and unmaps
/// the memory; the netdev then waits for the next front-end.
/// </summary>
internal sealed partial class VhostUserSession : IDisposable
{
    private readonly VhostUserChannel _channel;
    private readonly VhostUserVring[] _vrings;
    private readonly VhostUserQueuePair[] _pairs;
    private readonly ILogger _logger;
    private readonly ulong _offered;
    private volatile GuestMemory? _memory;
    private ulong _features;
    private ulong _protocolFeatures;
    private bool _protocolFeaturesNegotiated;
    private volatile int _headerLength = NetClientHeader;
    private volatile bool _mergeable;
    private int _refused;
    private int _disposed;

    private const int NetClientHeader = Netdevd.Core.Clients.NetClient.VnetHeaderSize;

    public VhostUserSession(VhostUserBackendClient client, VhostUserChannel channel, int queuePairs, IoThreadPool pool, ILogger logger)
    {
        Client = client;
        _channel = channel;
        _logger = logger;
        _offered = VhostUserBackendFeatures.Offered(client.UsingVnetHeader, queuePairs);
        _vrings = new VhostUserVring[queuePairs * 2];
        for (var i = 0; i < _vrings.Length; i++)
        {
            _vrings[i] = new VhostUserVring(i);
        }

        _pairs = new VhostUserQueuePair[queuePairs];
        try
        {
            for (var i = 0; i < queuePairs; i++)
            {
                _pairs[i] = new VhostUserQueuePair(this, i, _vrings[2 * i], _vrings[(2 * i) + 1], pool);
            }
        }
        catch
        {
            // No descriptor for a pair's thread (eventfd): the pairs already started end with it.
            foreach (var pair in _pairs)
            {
                pair?.Dispose();
            }

            throw;
        }
    }

    public VhostUserBackendClient Client { get; }

    /// <summary>The virtio-net header the guest's buffers start with: 12 bytes with VERSION_1 or MRG_RXBUF, else 10.</summary>
    public int HeaderLength => _headerLength;

    public bool MergeableBuffers => _mergeable;

    /// <summary>Whether the session ended because netdevd refused something.</summary>
    public bool Refused => Volatile.Read(ref _refused) != 0;

    /// <summary>Whether the guest accepts a frame with these offloads as they are (else netdevd resolves them).</summary>
    public bool GuestTakes(in VirtioNetHeader header)
    {
        if (header.NeedsChecksum && !Has(VirtioFeatures.NetGuestCsum))
        {
            return false;
        }

        return header.GsoKind switch
        {
            VirtioNetHeader.GsoNone => true,
            VirtioNetHeader.GsoTcpV4 => Has(VirtioFeatures.NetGuestTso4) && (header.GsoType & VirtioNetHeader.GsoEcn) == 0,
            VirtioNetHeader.GsoTcpV6 => Has(VirtioFeatures.NetGuestTso6) && (header.GsoType & VirtioNetHeader.GsoEcn) == 0,
            _ => false,
        };
    }

    /// <summary>The receive queue frames from the peer go to: the first running one.</summary>
    public VhostUserReceiver? Receiver()
    {
        foreach (var pair in _pairs)
        {
            if (pair.Receiver.Vring.IsLive)
            {
                return pair.Receiver;
            }
        }

        return null;
    }

    /// <summary>Any thread: the peer can take frames again; every transmit queue resumes.</summary>
    public void ResumeTransmit()
    {
        foreach (var pair in _pairs)
        {
            pair.ResumeTransmit();
        }
    }

    /// <summary>Any thread: publishes and signals what a sender's batch wrote to the guest.</summary>
    public void FlushReceiveSignals()
    {
        foreach (var pair in _pairs)
        {
            pair.Receiver.FlushSignal();
        }
    }

    /// <summary>A worker found the driver's rings broken: log, count, and close the connection.</summary>
    public void RefuseFromDatapath(string reason)
    {
        if (Interlocked.Exchange(ref _refused, 1) == 0)
        {
            Client.CountRefused();
            LogRefused(_logger, Client.Name, reason);
        }

        _channel.Shutdown();
    }

    /// <summary>Any thread: ends the connection (the netdev is deleted); <see cref="Run"/> returns.</summary>
    public void Stop() => _channel.Shutdown();

    /// <summary>Serves the connection until it ends; returns why it ended.</summary>
    public string Run()
    {
        var buffer = new byte[VhostUserChannel.BufferSize];
        var fds = new List<SafeFileHandle>();
        try
        {
            while (true)
            {
                foreach (var fd in fds)
                {
                    fd.Dispose();
                }

                fds.Clear();
                var status = _channel.Receive(buffer, fds, out var length);
                switch (status)
                {
                    case VhostUserReceiveStatus.Closed:
                        return Refused ? "closed after a refusal" : "the front-end closed the connection";
                    case VhostUserReceiveStatus.Malformed:
                        return Refuse("a malformed message (bad version, oversized or truncated)");
                    case VhostUserReceiveStatus.Failed:
                        return Refused ? "closed after a refusal" : $"receive failed: {Netdevd.Native.Errno.Message(_channel.LastErrno)}";
                }

                VhostUserMessage.TryParse(buffer.AsSpan(0, length), out var message, out _);
                var request = message.Request;
                var error = Handle(message, fds);
                if (message.Header.NeedsReply && ReplyAckNegotiated && !HasOwnReply(request))
                {
                    _channel.ReplyAck(request, error is null);
                }

                if (error is not null)
                {
                    return Refuse($"{request}: {error}");
                }
            }
        }
        finally
        {
            foreach (var fd in fds)
            {
                fd.Dispose();
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var pair in _pairs)
        {
            pair.Dispose();
        }

        WithAllGates(static (session, _) =>
        {
            foreach (var vring in session._vrings)
            {
                vring.Reset();
            }

            return null;
        }, (object?)null);
        _memory?.Dispose();
        _memory = null;
        _channel.Dispose();
    }

    private bool ReplyAckNegotiated => _protocolFeaturesNegotiated
        && (_protocolFeatures & VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck)) != 0;

    private bool Has(int feature) => VirtioFeatures.Has(_features, feature);

    private static bool HasOwnReply(VhostUserRequest request) => request is VhostUserRequest.GetFeatures
        or VhostUserRequest.GetProtocolFeatures or VhostUserRequest.GetVringBase or VhostUserRequest.GetQueueNum;

    private string Refuse(string reason)
    {
        if (Interlocked.Exchange(ref _refused, 1) == 0)
        {
            Client.CountRefused();
            LogRefused(_logger, Client.Name, reason);
        }

        return $"refused: {reason}";
    }

    /// <summary>Runs <paramref name="action"/> with every vring's gate held: no worker is inside a ring.</summary>
    private string? WithAllGates<TState>(Func<VhostUserSession, TState, string?> action, TState state)
    {
        var entered = 0;
        try
        {
            for (; entered < _vrings.Length; entered++)
            {
                _vrings[entered].Gate.Enter();
            }

            return action(this, state);
        }
        finally
        {
            for (var i = entered - 1; i >= 0; i--)
            {
                _vrings[i].Gate.Exit();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "netdev '{Netdev}' (vhost-user-backend): the front-end acked features 0x{Features:x}: {Layout} rings")]
    private static partial void LogFeatures(ILogger logger, string netdev, ulong features, string layout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "netdev '{Netdev}' (vhost-user-backend): refused the front-end: {Reason}; connection closed")]
    private static partial void LogRefused(ILogger logger, string netdev, string reason);
}
