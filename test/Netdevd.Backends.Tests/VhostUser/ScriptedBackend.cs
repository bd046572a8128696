using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// A vhost-user back-end written for the front-end tests: it connects to the front-end's
/// chardev, answers the GET requests with what the test asks, records every request, maps the
/// memory table, and lets the test play the device on the rings (take what the driver offers,
/// return buffers, signal the call eventfd). Independent of netdevd's own back-end.
/// </summary>
internal sealed class ScriptedBackend : IDisposable
{
    private readonly ulong _features;
    private readonly Thread _thread;
    private readonly List<VhostUserRequest> _requests = [];
    private readonly Dictionary<uint, VringAddress> _addresses = [];
    private readonly Dictionary<uint, SafeFileHandle> _calls = [];
    private readonly Dictionary<uint, SafeFileHandle> _kicks = [];
    private readonly ManualResetEventSlim _ready = new();
    private readonly ManualResetEventSlim _done = new();
    private VhostUserChannel? _channel;

    public ScriptedBackend(string path, ulong features)
    {
        Path = path;
        _features = features;
        _thread = new Thread(Serve) { IsBackground = true, Name = "scripted vhost-user back-end" };
    }

    public string Path { get; }

    public GuestMemory? Memory { get; private set; }

    public ulong AckedFeatures { get; private set; }

    /// <summary>The requests in the order they came.</summary>
    public IReadOnlyList<VhostUserRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public void Start() => _thread.Start();

    /// <summary>Waits until both rings of the first pair are enabled.</summary>
    public bool WaitReady(TimeSpan timeout) => _ready.Wait(timeout);

    /// <summary>Waits until the front-end closed the connection (or it was closed here).</summary>
    public bool WaitDone(TimeSpan timeout) => _done.Wait(timeout);

    /// <summary>Hangs up, as a back-end that goes away.</summary>
    public void HangUp() => _channel?.Shutdown();

    /// <summary>The device's view of ring <paramref name="index"/>.</summary>
    public SplitVirtqueue Ring(uint index)
    {
        var ring = SplitVirtqueue.TryCreate(Memory!, _addresses[index], 256, 0, VirtioFeatures.Has(AckedFeatures, VirtioFeatures.RingEventIdx), out var error);
        return ring ?? throw new InvalidOperationException(error);
    }

    /// <summary>Signals the front-end that ring <paramref name="index"/> has used buffers.</summary>
    public void Signal(uint index)
    {
        Span<byte> one = stackalloc byte[8];
        one[0] = 1;
        _ = Libc.Write((int)_calls[index].DangerousGetHandle(), one);
    }

    /// <summary>How many kicks ring <paramref name="index"/> got since the last call (its eventfd's counter, read and reset).</summary>
    public long TakeKicks(uint index)
    {
        Span<byte> counter = stackalloc byte[8];
        SafeFileHandle kick;
        lock (_kicks)
        {
            kick = _kicks[index];
        }

        return Libc.Read((int)kick.DangerousGetHandle(), counter) == 8 ? BitConverter.ToInt64(counter) : 0;
    }

    private void Serve()
    {
        try
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    socket.Connect(new UnixDomainSocketEndPoint(Path));
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(20);
                }
            }

            _channel = new VhostUserChannel(socket);
            var buffer = new byte[VhostUserChannel.BufferSize];
            var fds = new List<SafeFileHandle>();
            var enabled = 0;
            var reply = new byte[8];
            var answer = new byte[VringState.Size];
            while (_channel.Receive(buffer, fds, out var length) == VhostUserReceiveStatus.Message)
            {
                VhostUserMessage.TryParse(buffer.AsSpan(0, length), out var message, out _);
                lock (_requests)
                {
                    _requests.Add(message.Request);
                }

                switch (message.Request)
                {
                    case VhostUserRequest.GetFeatures:
                        VhostUserU64.Write(reply, _features);
                        _channel.Reply(message.Request, reply);
                        break;
                    case VhostUserRequest.GetProtocolFeatures:
                        VhostUserU64.Write(reply, VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq) | VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck));
                        _channel.Reply(message.Request, reply);
                        break;
                    case VhostUserRequest.GetQueueNum:
                        VhostUserU64.Write(reply, 1);
                        _channel.Reply(message.Request, reply);
                        break;
                    case VhostUserRequest.SetFeatures:
                        VhostUserU64.TryRead(message.Payload, out var acked);
                        AckedFeatures = acked;
                        break;
                    case VhostUserRequest.SetMemTable:
                        MemoryTablePayload.TryRead(message.Payload, out var table);
                        Memory = GuestMemory.TryMap(table, fds, out _);
                        break;
                    case VhostUserRequest.SetVringAddr:
                        VringAddress.TryRead(message.Payload, out var address);
                        _addresses[address.Index] = address;
                        break;
                    case VhostUserRequest.SetVringCall:
                        VringFile.TryRead(message.Payload, out var call);
                        _calls[call.Index] = fds[0];
                        fds.Clear();
                        break;
                    case VhostUserRequest.SetVringKick:
                        VringFile.TryRead(message.Payload, out var kick);
                        lock (_kicks)
                        {
                            _kicks[kick.Index] = fds[0];
                        }

                        fds.Clear();
                        break;
                    case VhostUserRequest.SetVringEnable:
                        if (++enabled == 2)
                        {
                            _ready.Set();
                        }

                        break;
                    case VhostUserRequest.GetVringBase:
                        VringState.TryRead(message.Payload, out var state);
                        new VringState(state.Index, 0).Write(answer);
                        _channel.Reply(message.Request, answer);
                        break;
                }

                foreach (var fd in fds)
                {
                    fd.Dispose();
                }

                fds.Clear();
            }
        }
        finally
        {
            _done.Set();
        }
    }

    public void Dispose()
    {
        _channel?.Shutdown();
        _thread.Join(TimeSpan.FromSeconds(10));
        _channel?.Dispose();
        Memory?.Dispose();
        foreach (var fd in _kicks.Values)
        {
            fd.Dispose();
        }

        foreach (var fd in _calls.Values)
        {
            fd.Dispose();
        }

        _ready.Dispose();
        _done.Dispose();
    }
}
