using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>Answers each frame at the end of the batch that brought it (as the user netdev does), and records the order.</summary>
internal sealed class AnsweringClient() : NetClient("peer", NetClientDriver.User)
{
    private readonly List<string> _events = [];
    private readonly Queue<byte[]> _pending = new();

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        lock (_events)
        {
            _events.Add($"frame {frame[0]}");
        }

        _pending.Enqueue(frame.ToArray());
        return ReceiveResult.Accepted;
    }

    protected override void OnBatchEnd()
    {
        lock (_events)
        {
            _events.Add("end");
        }

        while (_pending.TryDequeue(out var answer))
        {
            Send(answer);
        }
    }
}
