using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>
/// An end that answers a batch at the batch's end, in a batch of its own (as the user netdev
/// answers a guest's DHCP or ARP), through the hub that is still passing the first batch end
/// on: its answers must be written, and its wake-ups must arrive. The hub-loop guard once took
/// that second walk for a loop and swallowed the answers' batch end, so a VM on the default job
/// never saw a DHCP offer.
/// </summary>
public sealed class BatchReplyTests
{
    [Fact]
    public void Replies_sent_at_a_batch_end_reach_a_coalescing_writer_through_the_hub()
    {
        var hubs = new Hubs.HubRegistry();
        var guest = new CoalescingWriter("vm");
        var stack = new ReplyAtBatchEnd("user");
        NetClient.Connect(hubs.AddPort(0, "p-vm"), guest);
        NetClient.Connect(hubs.AddPort(0, "p-user"), stack);

        guest.SendBatch(2);

        Assert.Equal(2, stack.Seen);
        Assert.Equal(2, guest.Written);
        Assert.Equal(0, guest.Pending);
    }

    [Fact]
    public void Replies_reach_a_writer_two_hubs_away_and_a_loop_still_ends()
    {
        var hubs = new Hubs.HubRegistry();
        var guest = new CoalescingWriter("vm");
        var stack = new ReplyAtBatchEnd("user");
        NetClient.Connect(hubs.AddPort(0, "p-vm"), guest);
        NetClient.Connect(hubs.AddPort(0, "link-0"), hubs.AddPort(1, "link-1"));
        NetClient.Connect(hubs.AddPort(1, "p-user"), stack);

        // A loop on hub 1 as well: its own two ports joined.
        NetClient.Connect(hubs.AddPort(1, "loop-a"), hubs.AddPort(1, "loop-b"));

        guest.SendBatch(1);

        Assert.Equal(1, stack.Seen);
        Assert.Equal(1, guest.Written);
        Assert.Equal(0, guest.Pending);
    }

    /// <summary>Takes frames inside a batch into an output buffer, writes them at the batch end.</summary>
    private sealed class CoalescingWriter(string name) : NetClient(name, NetClientDriver.Stream)
    {
        public int Pending { get; private set; }

        public int Written { get; private set; }

        public void SendBatch(int frames)
        {
            BeginSendBatch();
            try
            {
                for (var i = 0; i < frames; i++)
                {
                    Send(new byte[60]);
                }
            }
            finally
            {
                SendBatchEnd();
            }
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            if (InSendBatch)
            {
                Pending++;
            }
            else
            {
                Written++;
            }

            return ReceiveResult.Accepted;
        }

        protected internal override void OnBatchEnd()
        {
            Written += Pending;
            Pending = 0;
        }
    }

    /// <summary>Answers each frame of a batch at the batch's end, all answers in one batch of its own.</summary>
    private sealed class ReplyAtBatchEnd(string name) : NetClient(name, NetClientDriver.User)
    {
        private int _owed;

        public int Seen { get; private set; }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            Seen++;
            _owed++;
            return ReceiveResult.Accepted;
        }

        protected internal override void OnBatchEnd()
        {
            if (_owed == 0)
            {
                return;
            }

            BeginSendBatch();
            try
            {
                for (; _owed > 0; _owed--)
                {
                    Send(new byte[342]);
                }
            }
            finally
            {
                SendBatchEnd();
            }
        }
    }
}
